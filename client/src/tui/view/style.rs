//! The view's styles, with or without colour, and the colour of a name.

use ratatui::style::{Color, Modifier, Style};

const PALETTE: [Color; 10] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::LightRed,
    Color::LightCyan,
    Color::LightGreen,
    Color::LightBlue,
    Color::LightMagenta,
];

/// A name's colour: the same name, the same colour, everywhere and always.
pub fn name_color(name: &str) -> Color {
    // FNV-1a, over the name as the server compares it.
    let mut hash: u32 = 0x811c_9dc5;
    for b in name.to_ascii_lowercase().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    PALETTE[hash as usize % PALETTE.len()]
}

/// Styles, with or without colour.
pub(super) struct Styles {
    pub(super) color: bool,
}

impl Styles {
    pub(super) fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }
    pub(super) fn name(&self, name: &str) -> Style {
        self.fg(name_color(name)).add_modifier(Modifier::BOLD)
    }
    pub(super) fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    pub(super) fn notice(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub(super) fn dm(&self) -> Style {
        self.fg(Color::Magenta)
    }
    pub(super) fn mention(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    /// What must not be missed: white on red, or reversed without colour.
    pub(super) fn warning(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    /// What a search found, in the pane.
    pub(super) fn found(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }
    pub(super) fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub(super) fn bar(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}
