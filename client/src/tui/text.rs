//! Text as the full screen lays it out: grapheme clusters (a flag, an
//! emoji with its skin tone, a letter with its accents), never single
//! chars, each with the columns it takes.
//!
//! ratatui puts one cluster in one buffer cell and measures it with
//! `unicode-width` over the whole cluster; the view and the input line
//! measure the same way ([`width`]), so what they lay out is what ratatui
//! draws, and a cluster is never cut between two rows or two cells.

use unicode_segmentation::UnicodeSegmentation as _;
use unicode_width::UnicodeWidthStr as _;

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

/// The columns of a whole text, cluster by cluster.
pub fn text_width(text: &str) -> usize {
    clusters(text).map(width).sum()
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
            column += width(cluster);
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
    fn tabs_go_to_the_next_stop() {
        assert_eq!(expand_tabs("tab\there"), "tab     here");
        assert_eq!(expand_tabs("\tx"), "        x");
        assert_eq!(expand_tabs("中文\tx"), "中文    x");
        assert_eq!(expand_tabs("12345678\tx"), "12345678        x");
    }
}
