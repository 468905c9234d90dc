//! The two exposition formats a scrape can ask for, chosen by its
//! `Accept` header as Prometheus's own scrapes ask.

/// The exposition formats a scrape can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (the default).
    Text,
    /// OpenMetrics 1.0, for a request whose `Accept` names it.
    OpenMetrics,
}

impl Format {
    /// The format a request's `Accept` header asks for: OpenMetrics when
    /// it names `application/openmetrics-text` (any version) with a `q`
    /// above 0, else the text format.
    pub fn from_accept(accept: Option<&str>) -> Self {
        let wanted = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut parts = range.split(';');
                let media = parts.next().unwrap_or("").trim();
                media.eq_ignore_ascii_case("application/openmetrics-text")
                    && parts.all(|param| match param.split_once('=') {
                        Some((key, value)) if key.trim().eq_ignore_ascii_case("q") => {
                            value.trim().parse::<f64>().is_ok_and(|q| q > 0.0)
                        }
                        _ => true,
                    })
            })
        });
        if wanted {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// The answer's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => chat_protocol::admin::METRICS_TEXT,
            Format::OpenMetrics => chat_protocol::admin::METRICS_OPENMETRICS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_openmetrics_only_when_named_with_a_q_above_0() {
        use Format::*;
        for (accept, format) in [
            (None, Text),
            (Some("*/*"), Text),
            (Some("text/plain"), Text),
            (Some("application/openmetrics-text"), OpenMetrics),
            (
                Some("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.4"),
                OpenMetrics,
            ),
            (
                Some("text/plain;version=0.0.4, Application/OpenMetrics-Text; version=0.0.1"),
                OpenMetrics,
            ),
            (Some("application/openmetrics-text;q=0"), Text),
            (
                Some("application/openmetrics-text; q=0.0, text/plain"),
                Text,
            ),
            (Some("application/openmetrics-textx"), Text),
        ] {
            assert_eq!(Format::from_accept(accept), format, "{accept:?}");
        }
    }
}
