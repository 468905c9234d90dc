//! Scrolling the message pane: the [`Anchor`] moved up and down by rows,
//! to the top and back to live, counted in the rows entries wrap to at
//! the pane's width.

use super::{Anchor, App};

impl App {
    /// Rows of messages while scrolled up: the pane less the marker's row.
    fn scrolled_rows(&self) -> usize {
        self.pane.1.saturating_sub(1).max(1)
    }

    /// Rows of entry `i` at the pane's width.
    fn height(&self, i: usize) -> usize {
        crate::tui::view::rows(self, &self.buf().lines[i], self.pane.0)
            .len()
            .max(1)
    }

    /// Up `n` rows (PgUp, wheel).
    pub fn scroll_up(&mut self, n: usize) {
        if self.buf().lines.is_empty() {
            return;
        }
        let mut anchor = self.buf().scroll.unwrap_or(Anchor {
            entry: self.buf().lines.len() - 1,
            rows_below: 0,
        });
        anchor.rows_below += n;
        loop {
            let height = self.height(anchor.entry);
            if anchor.rows_below < height {
                break;
            }
            if anchor.entry == 0 {
                anchor.rows_below = height - 1;
                break;
            }
            anchor.rows_below -= height;
            anchor.entry -= 1;
        }
        // Never further than a pane above the top.
        self.buf_mut().scroll = Some(anchor);
        self.clamp_top();
    }

    /// Keeps the top of the history at the top of the pane at most.
    pub(super) fn clamp_top(&mut self) {
        let Some(anchor) = self.buf().scroll else {
            return;
        };
        let mut rows = self.height(anchor.entry) - anchor.rows_below;
        let mut i = anchor.entry;
        while i > 0 && rows < self.scrolled_rows() {
            i -= 1;
            rows += self.height(i);
        }
        if rows < self.scrolled_rows() {
            self.scroll_top_exact();
        }
    }

    fn scroll_top_exact(&mut self) {
        // The anchor whose pane starts with entry 0's first row.
        let mut rows = 0;
        let mut i = 0;
        while i < self.buf().lines.len() {
            let height = self.height(i);
            if rows + height >= self.scrolled_rows() {
                let anchor = Anchor {
                    entry: i,
                    rows_below: rows + height - self.scrolled_rows(),
                };
                self.buf_mut().scroll = Some(anchor);
                return;
            }
            rows += height;
            i += 1;
        }
        // Everything fits: that is live.
        self.scroll_live();
    }

    /// Down `n` rows (PgDn, wheel); past the newest: live.
    pub fn scroll_down(&mut self, n: usize) {
        let Some(mut anchor) = self.buf().scroll else {
            return;
        };
        let mut n = n;
        loop {
            if anchor.rows_below >= n {
                anchor.rows_below -= n;
                break;
            }
            n -= anchor.rows_below;
            if anchor.entry + 1 >= self.buf().lines.len() {
                return self.scroll_live();
            }
            anchor.entry += 1;
            anchor.rows_below = self.height(anchor.entry);
        }
        if anchor.entry + 1 >= self.buf().lines.len() && anchor.rows_below == 0 {
            return self.scroll_live();
        }
        self.buf_mut().scroll = Some(anchor);
    }

    /// Home: the oldest line.
    pub fn scroll_top(&mut self) {
        self.scroll_top_exact();
    }

    /// End: back to live.
    pub fn scroll_live(&mut self) {
        self.buf_mut().scroll = None;
        self.buf_mut().unseen = 0;
    }
}
