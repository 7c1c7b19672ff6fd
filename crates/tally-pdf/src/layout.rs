//! Laying a sheet out on A4 pages: first into drawing operations per page (pure
//! arithmetic on text widths), then into krilla's surfaces.

use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{GlyphId, KrillaGlyph};
use krilla::Document;
use tally_invoicing::document::Sheet;

use crate::fonts::{Face, Fonts};
use crate::PdfError;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const BODY: f32 = 9.0;
const SMALL: f32 = 7.5;
const LEAD: f32 = 1.35;

enum Op {
    /// Text runs, each in one face: (x, baseline, size, face index, text, grey).
    Text {
        x: f32,
        y: f32,
        size: f32,
        runs: Vec<(usize, String, f32)>,
        grey: u8,
    },
    Rule {
        y: f32,
        heavy: bool,
    },
    Logo {
        y: f32,
        w: f32,
        h: f32,
    },
}

/// A text cut into runs of one face each, with its width.
struct Shaped {
    runs: Vec<(usize, String, f32)>,
    width: f32,
}

struct Layout<'a> {
    fonts: &'a Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
}

/// Faces by index: 0 regular, 1 bold, 2.. fallbacks.
fn face<'a>(fonts: &'a Fonts, i: usize) -> &'a Face {
    match i {
        0 => &fonts.regular,
        1 => &fonts.bold,
        n => &fonts.fallbacks[n - 2],
    }
}

impl Layout<'_> {
    fn shape(&self, text: &str, size: f32, bold: bool) -> Result<Shaped, PdfError> {
        let mut runs: Vec<(usize, String, f32)> = Vec::new();
        let mut width = 0.0;
        for c in text.chars() {
            let (f, advance) = self.fonts.face_for(c, bold)?;
            let index = if std::ptr::eq(f, &self.fonts.regular) {
                0
            } else if std::ptr::eq(f, &self.fonts.bold) {
                1
            } else {
                2 + self.fonts.fallbacks.iter().position(|x| std::ptr::eq(x, f)).unwrap_or(0)
            };
            let w = advance * size;
            match runs.last_mut() {
                Some((i, s, rw)) if *i == index => {
                    s.push(c);
                    *rw += w;
                }
                _ => runs.push((index, c.to_string(), w)),
            }
            width += w;
        }
        Ok(Shaped { runs, width })
    }

    /// `text` broken into lines no wider than `max`: at spaces, or between two
    /// characters of a script written without spaces (CJK).
    fn wrap(&self, text: &str, max: f32, size: f32, bold: bool) -> Result<Vec<String>, PdfError> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut width = 0.0;
        let mut last_break: Option<(usize, f32)> = None;
        for c in text.chars() {
            let (_, advance) = self.fonts.face_for(c, bold)?;
            let w = advance * size;
            if width + w > max && !line.is_empty() {
                match last_break {
                    Some((at, _)) if at > 0 => {
                        let rest = line.split_off(at);
                        lines.push(line.trim_end().to_owned());
                        line = rest.trim_start().to_owned();
                        width = self.shape(&line, size, bold)?.width;
                    }
                    _ => {
                        lines.push(std::mem::take(&mut line));
                        width = 0.0;
                    }
                }
                last_break = None;
            }
            if c == ' ' || wide(c) {
                last_break = Some((if c == ' ' { line.len() + 1 } else { line.len() }, width));
            }
            line.push(c);
            width += w;
            if wide(c) {
                last_break = Some((line.len(), width));
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        Ok(lines)
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Room for `height` more on this page, or a new page.
    fn room(&mut self, height: f32) -> bool {
        if self.y + height > PAGE_H - MARGIN {
            self.new_page();
            return false;
        }
        true
    }

    fn text(&mut self, x: f32, text: &str, size: f32, bold: bool, grey: u8) -> Result<f32, PdfError> {
        let shaped = self.shape(text, size, bold)?;
        let y = self.y + size;
        self.ops().push(Op::Text { x, y, size, runs: shaped.runs, grey });
        Ok(shaped.width)
    }

    fn right(&mut self, right: f32, text: &str, size: f32, bold: bool) -> Result<(), PdfError> {
        let shaped = self.shape(text, size, bold)?;
        let y = self.y + size;
        self.ops().push(Op::Text { x: right - shaped.width, y, size, runs: shaped.runs, grey: 0 });
        Ok(())
    }

    /// Lines of text in a block at `x`, the first bold when `strong`; the cursor moves down.
    fn block(&mut self, x: f32, width: f32, texts: &[String], strong: bool, size: f32) -> Result<(), PdfError> {
        for (i, text) in texts.iter().enumerate() {
            let bold = strong && i == 0;
            for line in self.wrap(text, width, size, bold)? {
                self.room(size * LEAD);
                self.text(x, &line, size, bold, 0)?;
                self.y += size * LEAD;
            }
        }
        Ok(())
    }
}

fn wide(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// The columns of the lines table: (left, width, right-aligned).
const COLUMNS: [(f32, f32, bool); 6] = [
    (MARGIN, 134.0, false),
    (186.0, 74.0, false),
    (264.0, 76.0, true),
    (344.0, 92.0, true),
    (440.0, 34.0, true),
    (478.0, PAGE_W - MARGIN - 478.0, true),
];
const HEADERS: [&str; 6] = ["Description", "Service period", "Quantity", "Unit price", "Tax", "Amount"];

/// The PDF of `sheet`, set in `fonts`.
pub fn pdf(sheet: &Sheet, fonts: &Fonts) -> Result<Vec<u8>, PdfError> {
    let mut l = Layout { fonts, pages: vec![Vec::new()], y: MARGIN };
    let content = PAGE_W - 2.0 * MARGIN;

    // Issuer (and logo) on the left, title and mark on the right.
    let top = l.y;
    if let Some(logo) = &sheet.logo {
        let (w, h) = logo_size(logo)?;
        let scale = (40.0 / h).min(140.0 / w);
        let y = l.y;
        l.ops().push(Op::Logo { y, w: w * scale, h: h * scale });
        l.y += h * scale + 6.0;
    }
    l.block(MARGIN, 260.0, &sheet.issuer, true, BODY)?;
    let left_end = l.y;
    l.y = top;
    let title = format!("{} {}", sheet.title, sheet.number);
    l.right(PAGE_W - MARGIN, &title, 16.0, true)?;
    l.y += 16.0 * LEAD;
    if let Some(mark) = &sheet.mark {
        l.right(PAGE_W - MARGIN, mark, 14.0, true)?;
        l.y += 14.0 * LEAD;
    }
    l.y = l.y.max(left_end) + 14.0;

    // Bill to on the left, the facts on the right.
    let top = l.y;
    l.text(MARGIN, "Bill to", SMALL, true, 90)?;
    l.y += SMALL * LEAD;
    l.block(MARGIN, 230.0, &sheet.bill_to, true, BODY)?;
    let left_end = l.y;
    l.y = top;
    for (label, value) in &sheet.facts {
        l.text(310.0, label, SMALL + 0.5, false, 90)?;
        let lines = l.wrap(value, 150.0, BODY, false)?;
        for line in lines {
            l.text(395.0, &line, BODY, false, 0)?;
            l.y += BODY * LEAD;
        }
    }
    l.y = l.y.max(left_end) + 14.0;

    // The lines, the header on every page.
    let header = |l: &mut Layout<'_>| -> Result<(), PdfError> {
        for ((x, w, right), h) in COLUMNS.iter().zip(HEADERS) {
            if *right {
                l.right(x + w, h, SMALL, true)?;
            } else {
                l.text(*x, h, SMALL, true, 0)?;
            }
        }
        l.y += SMALL * LEAD + 2.0;
        let y = l.y;
        l.ops().push(Op::Rule { y, heavy: false });
        l.y += 3.0;
        Ok(())
    };
    header(&mut l)?;
    for line in &sheet.lines {
        let mut cells: Vec<Vec<(String, f32, u8)>> = Vec::new();
        let mut first: Vec<(String, f32, u8)> =
            l.wrap(&line.description, COLUMNS[0].1, BODY, false)?.into_iter().map(|t| (t, BODY, 0)).collect();
        for detail in &line.details {
            first.extend(l.wrap(detail, COLUMNS[0].1, SMALL, false)?.into_iter().map(|t| (t, SMALL, 90)));
        }
        cells.push(first);
        for (i, text) in
            [&line.period, &line.quantity, &line.unit_price, &line.tax, &line.amount].into_iter().enumerate()
        {
            let width = COLUMNS[i + 1].1;
            cells.push(l.wrap(text, width, BODY, false)?.into_iter().map(|t| (t, BODY, 0)).collect());
        }
        let height = cells.iter().map(|c| c.iter().map(|(_, s, _)| s * LEAD).sum::<f32>()).fold(0.0, f32::max)
            + line.tiers.len() as f32 * SMALL * LEAD
            + 4.0;
        if !l.room(height) {
            header(&mut l)?;
        }
        let top = l.y;
        for (cell, (x, w, right)) in cells.iter().zip(COLUMNS) {
            l.y = top;
            for (text, size, grey) in cell {
                if right {
                    l.right(x + w, text, *size, false)?;
                } else {
                    l.text(x, text, *size, false, *grey)?;
                }
                l.y += size * LEAD;
            }
        }
        l.y = top + height - line.tiers.len() as f32 * SMALL * LEAD - 4.0;
        for (text, amount) in &line.tiers {
            l.text(MARGIN + 8.0, text, SMALL, false, 90)?;
            let (x, w, _) = COLUMNS[5];
            l.right(x + w, amount, SMALL, false)?;
            l.y += SMALL * LEAD;
        }
        l.y += 2.0;
        let y = l.y;
        l.ops().push(Op::Rule { y, heavy: false });
        l.y += 2.0;
    }
    l.y += 8.0;

    // Totals, right-aligned.
    for row in &sheet.totals {
        l.room(BODY * LEAD + 4.0);
        if row.strong {
            let y = l.y;
            l.ops().push(Op::Rule { y, heavy: true });
            l.y += 2.0;
        }
        l.right(PAGE_W - MARGIN - 80.0, &row.label, BODY, row.strong)?;
        l.right(PAGE_W - MARGIN, &row.amount, BODY, row.strong)?;
        l.y += BODY * LEAD + 2.0;
    }
    l.y += 10.0;
    if !sheet.notes.is_empty() {
        l.block(MARGIN, content, &sheet.notes, false, SMALL + 0.5)?;
        l.y += 8.0;
    }
    if !sheet.payment.is_empty() || sheet.payment_link.is_some() {
        l.room(40.0);
        l.text(MARGIN, "How to pay", BODY, true, 0)?;
        l.y += BODY * LEAD;
        let mut lines = sheet.payment.clone();
        lines.extend(sheet.payment_link.clone());
        l.block(MARGIN, content, &lines, false, BODY)?;
    }
    if let Some(footer) = &sheet.footer {
        l.y += 10.0;
        l.block(MARGIN, content, std::slice::from_ref(footer), false, SMALL)?;
    }
    emit(sheet, &l)
}

fn logo_size(logo: &tally_invoicing::document::Logo) -> Result<(f32, f32), PdfError> {
    let image = image_of(logo)?;
    let (w, h) = image.size();
    Ok((w.max(1) as f32, h.max(1) as f32))
}

fn image_of(logo: &tally_invoicing::document::Logo) -> Result<krilla::image::Image, PdfError> {
    let data: krilla::Data = logo.bytes.clone().into();
    let image = if logo.mime == "image/png" {
        krilla::image::Image::from_png(data, true)
    } else {
        krilla::image::Image::from_jpeg(data, true)
    };
    image.map_err(PdfError::Logo)
}

fn emit(sheet: &Sheet, l: &Layout<'_>) -> Result<Vec<u8>, PdfError> {
    let mut document = Document::new();
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} {}", sheet.title, sheet.number))
            .language(sheet.lang.clone())
            .creator("Tally".into()),
    );
    let logo = sheet.logo.as_ref().map(image_of).transpose()?;
    let count = l.pages.len();
    for (n, ops) in l.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Write("page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, runs, grey } => {
                    surface.set_fill(Some(fill(*grey)));
                    let mut x = *x;
                    for (face_index, text, width) in runs {
                        let f = face(l.fonts, *face_index);
                        surface.draw_glyphs(
                            Point::from_xy(x, *y),
                            &glyphs(f, text),
                            f.font.clone(),
                            text,
                            *size,
                            false,
                        );
                        x += width;
                    }
                }
                Op::Rule { y, heavy } => {
                    let h = if *heavy { 1.2 } else { 0.4 };
                    if let Some(rect) = Rect::from_xywh(MARGIN, *y, PAGE_W - 2.0 * MARGIN, h) {
                        let mut path = PathBuilder::new();
                        path.push_rect(rect);
                        if let Some(path) = path.finish() {
                            surface.set_fill(Some(fill(if *heavy { 0 } else { 200 })));
                            surface.draw_path(&path);
                        }
                    }
                }
                Op::Logo { y, w, h } => {
                    if let (Some(image), Some(size)) = (&logo, Size::from_wh(*w, *h)) {
                        surface.push_transform(&Transform::from_translate(MARGIN, *y));
                        surface.draw_image(image.clone(), size);
                        surface.pop();
                    }
                }
            }
        }
        if count > 1 {
            let text = format!("{} {} · page {} of {count}", sheet.title, sheet.number, n + 1);
            surface.set_fill(Some(fill(90)));
            let layout = Layout { fonts: l.fonts, pages: Vec::new(), y: 0.0 };
            let shaped = layout.shape(&text, SMALL, false)?;
            let mut x = PAGE_W - MARGIN - shaped.width;
            for (face_index, run, width) in shaped.runs {
                let f = face(l.fonts, face_index);
                let at = Point::from_xy(x, PAGE_H - MARGIN / 2.0);
                surface.draw_glyphs(at, &glyphs(f, &run), f.font.clone(), &run, SMALL, false);
                x += width;
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

/// The glyphs of `text` in `face`, one per character, each with its advance and the
/// bytes of the text it stands for (what a reader copies out).
fn glyphs(face: &Face, text: &str) -> Vec<KrillaGlyph> {
    text.char_indices()
        .map(|(i, c)| {
            let (id, advance) = face.glyph(c).or_else(|| face.glyph(' ')).unwrap_or((0, 0.3));
            KrillaGlyph::new(GlyphId::new(id), advance, 0.0, 0.0, 0.0, i..i + c.len_utf8(), None)
        })
        .collect()
}

fn fill(grey: u8) -> Fill {
    Fill { paint: krilla::color::luma::Color::new(grey).into(), opacity: NormalizedF32::ONE, ..Fill::default() }
}
