//! The fonts a PDF is set in: DejaVu Sans (regular and bold), bundled, so a document
//! renders on any machine; then the fallback files the settings name (Noto Sans CJK
//! by default) for the characters DejaVu lacks, a Japanese customer's name say. Each
//! character is drawn in the first font that has it; one no font has is an error
//! naming it, never an empty box on a customer's invoice.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::PdfError;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Characters whose widths are read once at load (Latin, Greek, Cyrillic, punctuation).
const CACHED: usize = 0x2200;

/// One font: krilla's handle to draw with, and advance widths to lay out with.
#[derive(Clone)]
pub(crate) struct Face {
    pub(crate) font: krilla::text::Font,
    data: Arc<Vec<u8>>,
    index: u32,
    /// Advance per em of the characters read at load; `None`: not in the font.
    widths: Arc<Vec<Option<(u32, f32)>>>,
    /// The same for the others, as documents meet them (CJK): reading a glyph's
    /// advance from the font costs more than drawing it.
    more: Arc<std::sync::RwLock<std::collections::HashMap<char, Option<(u32, f32)>>>>,
}

impl Face {
    fn load(data: Arc<Vec<u8>>, index: u32, name: &str) -> Result<Face, PdfError> {
        let unreadable = || PdfError::Font { file: name.to_owned(), message: "not a font krilla can read".into() };
        let font = krilla::text::Font::new(data.clone().into(), index).ok_or_else(unreadable)?;
        let mut face = Face { font, data, index, widths: Arc::new(Vec::new()), more: Default::default() };
        let widths = (0..CACHED).map(|c| char::from_u32(c as u32).and_then(|c| face.measure(c))).collect();
        face.widths = Arc::new(widths);
        Ok(face)
    }

    fn measure(&self, c: char) -> Option<(u32, f32)> {
        let font = FontRef::from_index(self.data.as_slice(), self.index).ok()?;
        let glyph = font.charmap().map(c)?;
        let upem = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
        let advance = font.glyph_metrics(Size::unscaled(), LocationRef::default()).advance_width(glyph)? / upem;
        Some((glyph.to_u32(), advance))
    }

    /// The advance of `c` per em, if the font has it.
    pub(crate) fn advance(&self, c: char) -> Option<f32> {
        self.glyph(c).map(|(_, w)| w)
    }

    /// The glyph of `c` and its advance per em, if the font has it: laid out here, so
    /// krilla draws glyphs and never shapes (its shaper was half the time of a PDF).
    pub(crate) fn glyph(&self, c: char) -> Option<(u32, f32)> {
        if let Some(w) = self.widths.get(c as usize) {
            return *w;
        }
        if let Some(w) = self.more.read().ok().and_then(|m| m.get(&c).copied()) {
            return w;
        }
        let w = self.measure(c);
        if let Ok(mut more) = self.more.write() {
            more.insert(c, w);
        }
        w
    }
}

/// The faces of a document: regular and bold first, then the fallbacks.
#[derive(Clone)]
pub struct Fonts {
    pub(crate) regular: Face,
    pub(crate) bold: Face,
    pub(crate) fallbacks: Vec<Face>,
    /// The fallback files named, for messages.
    named: Vec<PathBuf>,
}

impl Fonts {
    /// The bundled faces and the fallback `files` (TrueType, OpenType or a collection,
    /// its first face); a file named that is missing or unreadable is an error naming it.
    pub fn load(files: &[PathBuf]) -> Result<Fonts, PdfError> {
        let regular = Face::load(Arc::new(REGULAR.to_vec()), 0, "DejaVuSans.ttf (bundled)")?;
        let bold = Face::load(Arc::new(BOLD.to_vec()), 0, "DejaVuSans-Bold.ttf (bundled)")?;
        let mut fallbacks = Vec::new();
        for file in files {
            let name = file.display().to_string();
            let data =
                std::fs::read(file).map_err(|e| PdfError::Font { file: name.clone(), message: e.to_string() })?;
            fallbacks.push(Face::load(Arc::new(data), 0, &name)?);
        }
        Ok(Fonts { regular, bold, fallbacks, named: files.to_vec() })
    }

    /// [`Fonts::load`] of those of `files` that exist: for a default list of system
    /// fonts a machine may lack (the characters they would have drawn are then an error
    /// naming them when a document needs them).
    pub fn load_present(files: &[PathBuf]) -> Result<Fonts, PdfError> {
        let present: Vec<PathBuf> = files.iter().filter(|f| Path::new(f).is_file()).cloned().collect();
        let mut fonts = Fonts::load(&present)?;
        fonts.named = files.to_vec();
        Ok(fonts)
    }

    /// The face to draw `c` in, bold or not, and its advance per em.
    pub(crate) fn face_for(&self, c: char, bold: bool) -> Result<(&Face, f32), PdfError> {
        let first = if bold { &self.bold } else { &self.regular };
        if let Some(w) = first.advance(c) {
            return Ok((first, w));
        }
        if c.is_whitespace() || c.is_control() {
            return Ok((first, first.advance(' ').unwrap_or(0.3)));
        }
        for face in &self.fallbacks {
            if let Some(w) = face.advance(c) {
                return Ok((face, w));
            }
        }
        let named: Vec<String> = self.named.iter().map(|p| p.display().to_string()).collect();
        Err(PdfError::NoGlyph { character: c, fonts: named.join(", ") })
    }
}
