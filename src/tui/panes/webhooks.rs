//! The Webhooks pane: every webhook with its figures, filtered as you type; the form, the
//! delete dialog and copying its URL start here.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use uuid::Uuid;

use super::{Cx, DrawCx, Notice, Pane, Reply};
use crate::domain::{Event, WebhookView};
use crate::store::WebhookStats;
use crate::tui::keymap::{Access, Action, PaneId};
use crate::tui::list::PagedList;
use crate::tui::msg::Effect;
use crate::tui::popups::{Confirm, Filter, Form, Popup};
use crate::tui::text::{ago, compact, filter_title, fit_end, wrap};

#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub webhook: WebhookView,
    pub stats: WebhookStats,
}

#[derive(Debug, Clone)]
pub struct Webhooks {
    /// Every webhook, by eventKey.
    rows: Vec<WebhookRow>,
    /// Where in `rows` the webhooks the filter lets through are. The list is loaded whole,
    /// so the window is all of it.
    visible: PagedList<usize>,
    pub filter: String,
    /// A webhook just created: selected once the reloaded list has it.
    pub select_next: Option<Uuid>,
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks {
            rows: Vec::new(),
            visible: PagedList::new(usize::MAX),
            filter: String::new(),
            select_next: None,
        }
    }
}

impl Webhooks {
    /// All webhooks, filtered or not.
    pub fn count(&self) -> usize {
        self.rows.len()
    }

    /// The webhooks the filter lets through, in order.
    pub fn visible(&self) -> Vec<&WebhookRow> {
        self.visible
            .items()
            .iter()
            .map(|&i| &self.rows[i])
            .collect()
    }

    pub fn selected(&self) -> Option<&WebhookRow> {
        self.visible.selected_item().map(|&i| &self.rows[i])
    }

    pub fn loaded(&mut self, mut list: Vec<WebhookView>, stats: HashMap<Uuid, WebhookStats>) {
        list.sort_by(|a, b| a.event_key.cmp(&b.event_key));
        self.rows = list
            .into_iter()
            .map(|w| WebhookRow {
                stats: stats.get(&w.uuid).copied().unwrap_or_default(),
                webhook: w,
            })
            .collect();
        self.refilter();
        if let Some(uuid) = self.select_next {
            let visible = self.visible.items().iter();
            if let Some(i) = visible
                .map(|&i| &self.rows[i])
                .position(|r| r.webhook.uuid == uuid)
            {
                self.visible.select(i);
                self.select_next = None;
            }
        }
    }

    /// The selected webhook in full, for Detail's place while Webhooks has focus: its URL
    /// and token whole, wrapped, where they can be read and copied.
    pub fn draw_selected(&self, f: &mut Frame, area: Rect, cx: &DrawCx) {
        let theme = cx.theme;
        let block = theme.pane_block(Line::from(" 3 Detail · webhook "), false);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let Some(row) = self.selected() else {
            f.render_widget(
                Paragraph::new("No webhook selected.").style(theme.dim()),
                inner,
            );
            return;
        };
        let w = &row.webhook;
        let width = (inner.width as usize).saturating_sub(12).max(1);
        let mut lines = Vec::new();
        let mut field = |name: &str, value: &str| {
            for (i, part) in wrap(value, width).into_iter().enumerate() {
                let label = if i == 0 { name } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("{label:<12}"), theme.fg(Color::Cyan)),
                    Span::raw(part),
                ]));
            }
        };
        field("eventKey", &w.event_key);
        field("URL", &w.url(&cx.config.public_url));
        field("token", &w.uuid.to_string());
        field("payload", w.payload_type.as_str());
        field("max bytes", &w.max_payload_length.to_string());
        // §7 settings, named only: secrets and tokens are never shown, just that they are set.
        if !w.allow_from.is_empty() {
            let nets: Vec<String> = w.allow_from.iter().map(ToString::to_string).collect();
            field("allowFrom", &nets.join(", "));
        }
        if let Some(scheme) = w.scheme {
            field("verify", &format!("{} (secret set)", scheme.as_str()));
        }
        match w.handshake {
            Some("meta") => field("handshake", "meta (verify token set)"),
            Some(h) => field("handshake", h),
            None => {}
        }
        if let Some(r) = &w.response {
            let body = r.body.len();
            field(
                "response",
                &format!("{} {}, {body} bytes", r.status, r.content_type),
            );
        }
        field(
            "events",
            &format!(
                "{}, last {}",
                row.stats.events,
                ago(cx.now_ms, row.stats.last_at)
            ),
        );
        lines.push(Line::styled(
            "y copies the URL; Enter shows its events.",
            theme.dim(),
        ));
        f.render_widget(Paragraph::new(lines), inner);
    }

    /// Counts an accepted event in its webhook's figures.
    pub fn arrived(&mut self, e: &Event) {
        if let Some(row) = self
            .rows
            .iter_mut()
            .find(|w| w.webhook.event_key == e.event_key)
        {
            row.stats.events += 1;
            row.stats.last_at = Some(e.received_at);
        }
    }

    fn refilter(&mut self) {
        let f = self.filter.to_lowercase();
        let rows = &self.rows;
        self.visible.replace(
            (0..rows.len()).filter(|&i| f.is_empty() || rows[i].webhook.event_key.contains(&f)),
        );
    }
}

impl Pane for Webhooks {
    fn act(&mut self, action: Action, cx: &Cx) -> Reply {
        match action {
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => self.visible.step(action, cx.page_rows),
            Action::Open => {
                if let Some(row) = self.selected() {
                    return Reply {
                        notice: Some(Notice::ShowEventsOf(row.webhook.event_key.clone())),
                        ..Reply::default()
                    };
                }
            }
            Action::Filter => {
                let filter =
                    Filter::new(PaneId::Webhooks, &self.filter, " Filter webhooks: ", true);
                return Reply::popup(Popup::Filter(Box::new(filter)));
            }
            Action::Clear => {
                self.filter.clear();
                self.refilter();
            }
            Action::Edit => {
                if let Some(row) = self.selected() {
                    return Reply::popup(Popup::Form(Box::new(Form::new(Some(&row.webhook)))));
                }
            }
            Action::Delete => {
                if let Some(row) = self.selected() {
                    let w = &row.webhook;
                    return Reply::popup(Popup::Confirm(Box::new(Confirm::webhook(w))));
                }
            }
            Action::Copy => {
                if let Some(row) = self.selected() {
                    let w = &row.webhook;
                    let url = w.url(&cx.config.public_url);
                    let what = format!("the URL of {}", w.event_key);
                    return Reply {
                        toast: Some(crate::tui::clipboard::toast(&what, url.len())),
                        effects: vec![Effect::Copy(url)],
                        ..Reply::default()
                    };
                }
            }
            // Not bound in this pane's scope.
            _ => {}
        }
        Reply::default()
    }

    fn set_filter(&mut self, text: String) -> Vec<Effect> {
        self.filter = text;
        self.refilter();
        vec![]
    }

    fn draw(&self, f: &mut Frame, area: Rect, cx: &DrawCx) {
        let theme = cx.theme;
        let list = self.visible();
        let title = filter_title(&format!("1 Webhooks ({})", list.len()), &self.filter, None);
        let block = theme.pane_block(Line::from(title), cx.focused);
        let inner = block.inner(area);
        f.render_widget(block, area);
        if list.is_empty() {
            let msg = if self.rows.is_empty() {
                match cx.config.access() {
                    Access::ReadOnly => "No webhooks yet.",
                    Access::ReadWrite => "No webhooks yet. Press n to create one.",
                }
            } else {
                "No webhook matches the filter."
            };
            f.render_widget(
                Paragraph::new(msg)
                    .style(theme.dim())
                    .wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
        let w = inner.width as usize;
        // The token column stays while eventKeys keep KEY_MIN columns: a long key is cut
        // (keeping its end), not the column.
        const KEY_MIN: usize = 16;
        let wide = w >= 20 + KEY_MIN;
        let right = if wide { 20 } else { 11 };
        let key_w = w.saturating_sub(right);
        self.visible.render(f, inner, theme, cx.focused, |&i| {
            let row = &self.rows[i];
            let wh = &row.webhook;
            let mut spans = vec![Span::raw(fit_end(&wh.event_key, key_w))];
            if wide {
                spans.push(Span::styled(format!(" {}", wh.token_prefix()), theme.dim()));
            }
            spans.push(Span::raw(format!(" {:>5}", compact(row.stats.events))));
            spans.push(Span::styled(
                format!(" {:>4}", ago(cx.now_ms, row.stats.last_at)),
                theme.dim(),
            ));
            Line::from(spans)
        });
    }
}
