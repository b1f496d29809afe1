//! Which records a listing shows. One filter serves both the live stream (the dashboard's
//! Events pane, as records arrive) and the store's scan (paging), so the two never disagree.

use super::event::Summary;
use super::webhook::EventKeyPattern;

/// Accepted events or rejections only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub status: Option<Status>,
    pub pattern: Option<EventKeyPattern>,
    /// Text looked for (see [`Summary::matches_text`]), lowercased once; empty matches all.
    text: String,
}

impl EventFilter {
    pub fn new(status: Option<Status>, pattern: Option<EventKeyPattern>) -> Self {
        Self {
            status,
            pattern,
            text: String::new(),
        }
    }

    /// Also looks for `text` in eventKeys, methods, statuses and rejection reasons.
    pub fn with_text(mut self, text: &str) -> Self {
        self.text = text.to_lowercase();
        self
    }

    /// Whether a record whose summary lacks its content type must be read whole to know:
    /// when there is text to look for.
    pub fn needs_content_type(&self) -> bool {
        !self.text.is_empty()
    }

    /// The text looked for, lowercased; empty when there is none.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether records of this status can match at all (the store skips a table if not).
    pub fn wants(&self, status: Status) -> bool {
        self.status.is_none_or(|s| s == status)
    }

    pub fn matches(&self, s: Summary) -> bool {
        let status = if s.rejection.is_some() {
            Status::Rejected
        } else {
            Status::Accepted
        };
        self.wants(status)
            && self
                .pattern
                .as_ref()
                .is_none_or(|p| s.event_key.is_some_and(|k| p.matches(k)))
            && s.matches_lowercase(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary<'a>(key: Option<&'a str>, rejection: Option<(&'a str, u16)>) -> Summary<'a> {
        Summary {
            event_key: key,
            method: "POST",
            content_type: key.map(|_| "application/json"),
            rejection,
        }
    }

    #[test]
    fn status_pattern_and_text_all_apply() {
        let ok = summary(Some("webhook.lead.created"), None);
        let rejected = summary(None, Some(("unknown token", 404)));
        let all = EventFilter::default();
        assert!(all.matches(ok) && all.matches(rejected));
        let leads = EventFilter::new(
            None,
            Some(EventKeyPattern::parse("webhook.lead.*").unwrap()),
        );
        assert!(leads.matches(ok));
        assert!(!leads.matches(rejected));
        let only_rejected = EventFilter::new(Some(Status::Rejected), None);
        assert!(!only_rejected.matches(ok) && only_rejected.matches(rejected));
        let text = EventFilter::default().with_text("TOKEN");
        assert!(text.matches(rejected) && !text.matches(ok));
        assert!(EventFilter::default().with_text("Lead").matches(ok));
        // The stream's own status words work too.
        let rej = EventFilter::default().with_text("REJ");
        assert!(rej.matches(rejected) && !rej.matches(ok));
        assert!(EventFilter::default().with_text("ok").matches(ok));
        // What each row shows: its content type, short or full.
        assert!(EventFilter::default().with_text("JSON").matches(ok));
        assert!(EventFilter::default().with_text("application/").matches(ok));
        assert!(!EventFilter::default().with_text("json").matches(rejected));
    }
}
