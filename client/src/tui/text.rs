//! Text as the full screen lays it out: grapheme clusters (a flag, an
//! emoji with its skin tone, a letter with its accents), never single
//! chars, each with the columns it takes.
//!
//! ratatui puts one cluster in one buffer cell and measures it with
//! `unicode-width` over the whole cluster; the view and the input line
//! measure the same way ([`width`]), so what they lay out is what ratatui
//! draws, and a cluster is never cut between two rows or two cells.
//!
//! Terminals do not agree on every cluster, though: tmux 3.3 draws 👍🏽
//! as a thumb and a skin tone (four columns) where ratatui counts two, and
//! ☺️ (with VS16) in one column where ratatui counts two. Where the widths
//! of a cluster's parts do not add up to its own ([`is_uncertain`]), the
//! layout gives it room for the wider reading ([`columns`]), and the
//! buffer cell that holds it ([`settle`]) first erases that room (ECH),
//! then draws the cluster, and tells ratatui's diff how wide it is, so
//! that neither reading leaves a piece of it, or of what was there before,
//! on screen; rows that held one are drawn whole on the next frame too.

use std::num::NonZeroU16;
use unicode_segmentation::UnicodeSegmentation as _;

use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// Columns of a tab stop: a tab in a message goes to the next multiple of
/// this from the start of its text, as a terminal shows the line client's
/// tabs.
pub const TAB_STOP: usize = 8;

/// The grapheme clusters of `text`.
pub fn clusters(text: &str) -> impl Iterator<Item = &str> {
    text.graphemes(true)
}

/// The columns ratatui gives `cluster` in its buffer (as its
/// `CellWidth for str`: one for a single byte, else the cluster's
/// `unicode-width`, halfwidth sound marks counted as the terminal shows
/// them).
pub fn width(cluster: &str) -> usize {
    if cluster.len() == 1 {
        return 1;
    }
    cluster.width()
        + cluster
            .chars()
            .filter(|&c| matches!(c, '\u{FF9E}' | '\u{FF9F}'))
            .count()
}

/// The columns of a whole text, cluster by cluster, as ratatui counts.
pub fn text_width(text: &str) -> usize {
    clusters(text).map(width).sum()
}

/// The columns of `cluster`'s parts, each on its own.
fn parts_width(cluster: &str) -> usize {
    cluster.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Whether terminals may draw `cluster` wider or narrower than ratatui
/// counts it: its parts' widths do not add up to its own (an emoji with a
/// skin tone, a ZWJ sequence, a symbol with VS16). Flags and accented
/// letters add up, and are drawn alike everywhere.
pub fn is_uncertain(cluster: &str) -> bool {
    cluster.chars().nth(1).is_some() && width(cluster) > 0 && parts_width(cluster) != width(cluster)
}

/// The columns the layout gives `cluster`: its width, or for an uncertain
/// one the wider of its width and its parts' (the rest is padding).
pub fn columns(cluster: &str) -> usize {
    if is_uncertain(cluster) {
        width(cluster).max(parts_width(cluster))
    } else {
        width(cluster)
    }
}

/// The most columns one cluster may claim: a family of four (👨‍👩‍👧‍👦),
/// or two people with skin tones, as terminals that draw each part apart
/// show them. One grapheme cluster can be any length (120 emoji joined by
/// zero-width joiners are one), and one that claimed its parts' width
/// would run over the user list.
pub const MAX_CLUSTER_COLUMNS: usize = 8;

/// `text` with each cluster that would claim more than
/// [`MAX_CLUSTER_COLUMNS`] shown as its first character followed by the
/// others escaped (`\u{200d}\u{1f600}…`): honest about what was sent,
/// laid out as ordinary text that wraps, and never one wide glyph.
pub fn cap_clusters(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write as _;
    if !clusters(text).any(|c| columns(c) > MAX_CLUSTER_COLUMNS) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() * 2);
    for cluster in clusters(text) {
        if columns(cluster) <= MAX_CLUSTER_COLUMNS {
            out.push_str(cluster);
            continue;
        }
        let mut chars = cluster.chars();
        out.extend(chars.next());
        for c in chars {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    out.into()
}

/// Makes the uncertain clusters in `area` of `buffer` safe to draw on any
/// terminal: each cell that holds one erases its room (`ESC [ n X`, which
/// does not move the cursor) before the cluster, and is marked as that
/// wide for the diff, which then never writes into its room. Rows that
/// hold one, and the rows in `before` (those that held one last frame),
/// are written whole, so that no piece of a cluster drawn wider than
/// ratatui knew stays behind. Returns the rows that hold one now.
pub fn settle(buffer: &mut Buffer, area: Rect, before: &[u16]) -> Vec<u16> {
    let mut rows = Vec::new();
    for y in area.top()..area.bottom() {
        let mut found = false;
        for x in area.left()..area.right() {
            let cell = &mut buffer[(x, y)];
            let symbol = cell.symbol();
            if !is_uncertain(symbol) {
                continue;
            }
            let room = columns(symbol).min(usize::from(area.right() - x));
            let Some(forced) = u16::try_from(room).ok().and_then(NonZeroU16::new) else {
                continue;
            };
            let drawn = format!("\x1b[{room}X{symbol}");
            cell.set_symbol(&drawn);
            cell.diff_option = CellDiffOption::ForcedWidth(forced);
            found = true;
        }
        if found || before.contains(&y) {
            for x in area.left()..area.right() {
                let cell = &mut buffer[(x, y)];
                if cell.diff_option == CellDiffOption::None {
                    cell.diff_option = CellDiffOption::AlwaysUpdate;
                }
            }
        }
        if found {
            rows.push(y);
        }
    }
    rows
}

/// `text` (one line) with each tab replaced by spaces up to the next
/// [`TAB_STOP`]: ratatui drops any cluster that holds a control character,
/// a tab included.
pub fn expand_tabs(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\t') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut column = 0;
    for cluster in clusters(text) {
        if cluster == "\t" {
            let pad = TAB_STOP - column % TAB_STOP;
            out.extend(std::iter::repeat_n(' ', pad));
            column += pad;
        } else {
            out.push_str(cluster);
            column += columns(cluster);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_stay_whole_and_take_what_ratatui_gives_them() {
        let text = "🇩🇪🇯🇵👍🏽e\u{301}中a";
        let parts: Vec<&str> = clusters(text).collect();
        assert_eq!(parts, ["🇩🇪", "🇯🇵", "👍🏽", "e\u{301}", "中", "a"]);
        let widths: Vec<usize> = parts.iter().map(|c| width(c)).collect();
        assert_eq!(widths, [2, 2, 2, 1, 2, 1]);
        assert_eq!(text_width(text), 10);
    }

    #[test]
    fn uncertain_clusters_get_room_for_the_wider_reading() {
        assert!(!is_uncertain("🇩🇪") && !is_uncertain("e\u{301}") && !is_uncertain("中"));
        assert!(is_uncertain("👍🏽"));
        assert_eq!(columns("👍🏽"), 4);
        assert!(is_uncertain("☺\u{fe0f}"));
        assert_eq!(columns("☺\u{fe0f}"), 2);
        assert_eq!(columns("👨\u{200d}👩\u{200d}👧"), 6);
    }

    #[test]
    fn a_cluster_wider_than_the_cap_shows_its_first_part_and_the_rest_escaped() {
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
        assert_eq!(columns(family), 8);
        assert_eq!(cap_clusters(family), family, "whole at the cap");
        let long = ["😀"; 120].join("\u{200d}");
        assert_eq!(clusters(&long).count(), 1, "one cluster");
        assert_eq!(columns(&long), 240);
        let capped = cap_clusters(&long);
        assert!(
            capped.starts_with("😀\\u{200d}\\u{1f600}\\u{200d}"),
            "{capped}"
        );
        assert!(
            clusters(&capped).all(|c| columns(c) <= MAX_CLUSTER_COLUMNS),
            "{capped}"
        );
        assert_eq!(cap_clusters("a 👍🏽 b"), "a 👍🏽 b");
    }

    #[test]
    fn tabs_go_to_the_next_stop() {
        assert_eq!(expand_tabs("tab\there"), "tab     here");
        assert_eq!(expand_tabs("\tx"), "        x");
        assert_eq!(expand_tabs("中文\tx"), "中文    x");
        assert_eq!(expand_tabs("12345678\tx"), "12345678        x");
        assert_eq!(expand_tabs("👍🏽\tx"), "👍🏽    x", "as laid out: 4 columns");
    }
}
