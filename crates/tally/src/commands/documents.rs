//! The issuer and the fonts documents are made with, from the settings: read once per
//! command, the logo file and the fallback fonts loaded from disk here, at the edge.

use anyhow::Context;
use tally_config::Settings;
use tally_invoicing::document::{Issuer, Logo, Payment};

/// The `[issuer]` settings as documents print them; the logo file is read and must be
/// a PNG or a JPEG.
pub fn issuer(settings: &Settings) -> anyhow::Result<Issuer> {
    let s = &settings.issuer;
    let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let lines = |t: &str| t.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let logo = if s.logo.as_os_str().is_empty() {
        None
    } else {
        let bytes = std::fs::read(&s.logo).with_context(|| format!("issuer.logo: reading {}", s.logo.display()))?;
        Some(Logo::of(bytes).with_context(|| format!("issuer.logo: {} is not a PNG or JPEG file", s.logo.display()))?)
    };
    Ok(Issuer {
        name: s.name.trim().to_owned(),
        address: lines(&s.address),
        tax_id: text(&s.tax_id),
        registration: text(&s.registration),
        email: text(&s.email),
        logo,
        footer: text(&s.footer),
        payment: s
            .payment
            .iter()
            .map(|(currency, p)| {
                (currency.clone(), Payment { instructions: lines(&p.instructions), link: text(&p.link) })
            })
            .collect(),
    })
}

/// The fonts PDFs are set in (`documents.fonts`, those present).
pub fn fonts(settings: &Settings) -> anyhow::Result<tally_pdf::Fonts> {
    Ok(tally_pdf::Fonts::load_present(&settings.documents.fonts)?)
}
