//! The new/edit webhook form. It validates with the API's own parser, shows errors beside
//! their field and never loses what was typed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear};
use ratatui_textarea::TextArea;
use uuid::Uuid;

use super::Reply;
use crate::domain::handshake::Handshake;
use crate::domain::verify::Scheme;
use crate::domain::webhook::{DEFAULT_MAX_PAYLOAD_LENGTH, InputErrors};
use crate::domain::{PayloadType, Webhook, WebhookInput};
use crate::tui::key::{Code, Key};
use crate::tui::keymap::{Action, cycle};
use crate::tui::msg::{Effect, PutFailure};
use crate::tui::theme::{Theme, centered};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    EventKey,
    PayloadType,
    MaxPayloadLength,
    Verify,
    Secret,
    Handshake,
}

impl Field {
    const ALL: [Field; 6] = [
        Field::EventKey,
        Field::PayloadType,
        Field::MaxPayloadLength,
        Field::Verify,
        Field::Secret,
        Field::Handshake,
    ];

    fn step(self, by: isize) -> Field {
        cycle(&Field::ALL, self, by)
    }
}

#[derive(Debug, Clone)]
pub struct Form {
    /// The webhook being edited; its uuid is shown but cannot change.
    pub editing: Option<Uuid>,
    pub event_key: TextArea<'static>,
    pub payload_type: PayloadType,
    pub max_payload_length: TextArea<'static>,
    /// The verify scheme chosen here (§7); `None` verifies nothing.
    pub scheme: Option<Scheme>,
    /// Write-only: shown masked, and left empty it keeps the stored secret.
    pub secret: TextArea<'static>,
    /// `none`, `slack` or `graph`; a meta handshake (it needs a token) is set by the API.
    pub handshake: &'static str,
    /// What the webhook had, so that an untouched choice sends nothing.
    had: (Option<Scheme>, &'static str),
    pub field: Field,
    pub errors: InputErrors,
    /// A failure that belongs to no field.
    pub error: Option<String>,
    pub saving: bool,
}

impl Form {
    /// A form for a new webhook, or filled in from the one being edited.
    pub fn new(editing: Option<&Webhook>) -> Form {
        Form {
            editing: editing.map(|w| w.uuid),
            event_key: super::single_line(editing.map_or("webhook.", |w| w.event_key.as_str())),
            payload_type: editing.map_or(PayloadType::Base64, |w| w.payload_type),
            max_payload_length: super::single_line(
                &editing
                    .map_or(DEFAULT_MAX_PAYLOAD_LENGTH, |w| w.max_payload_length)
                    .to_string(),
            ),
            scheme: editing.and_then(|w| w.verify.as_ref()).map(|v| v.scheme),
            secret: {
                let mut t = super::single_line("");
                t.set_mask_char('•');
                t
            },
            handshake: handshake_word(editing),
            had: (
                editing.and_then(|w| w.verify.as_ref()).map(|v| v.scheme),
                handshake_word(editing),
            ),
            field: Field::EventKey,
            errors: InputErrors::default(),
            error: None,
            saving: false,
        }
    }

    /// The put failed: the form stays open with the error.
    pub fn failed(&mut self, failure: PutFailure) {
        self.saving = false;
        match failure {
            PutFailure::Conflict(m) => self.errors.event_key = Some(m),
            PutFailure::Other(m) => self.error = Some(m),
        }
    }

    /// `ceiling` is the server's `--max-payload`.
    pub(super) fn key(&mut self, key: Key, action: Option<Action>, ceiling: u64) -> Reply {
        match action {
            Some(Action::Cancel) => return Reply::close(),
            Some(Action::Submit) if !self.saving => {
                let uuid = self.editing.map(|u| u.to_string());
                let key = self.event_key.lines().join("");
                let max = self.max_payload_length.lines().join("");
                match WebhookInput::parse(
                    uuid.as_deref(),
                    Some(&key),
                    Some(self.payload_type.as_str()),
                    Some(&max),
                    ceiling,
                )
                .and_then(|i| i.with_sender(&self.sender_params()))
                {
                    Ok(input) => {
                        self.errors = InputErrors::default();
                        self.error = None;
                        self.saving = true;
                        return Reply {
                            effects: vec![Effect::Put(input)],
                            ..Reply::default()
                        };
                    }
                    Err(errors) => self.errors = errors,
                }
            }
            Some(Action::NextField) => self.field = self.field.step(1),
            Some(Action::PrevField) => self.field = self.field.step(-1),
            Some(Action::Choose) if self.field == Field::PayloadType => {
                let by = if key == Key::new(Code::Left) { -1 } else { 1 };
                self.payload_type = cycle(&PayloadType::ALL, self.payload_type, by);
            }
            Some(Action::Choose) if self.field == Field::Verify => {
                let by = if key == Key::new(Code::Left) { -1 } else { 1 };
                self.scheme = cycle(&SCHEMES, self.scheme, by);
            }
            Some(Action::Choose) if self.field == Field::Handshake => {
                let by = if key == Key::new(Code::Left) { -1 } else { 1 };
                self.handshake = cycle(&HANDSHAKES, self.handshake, by);
            }
            _ => {
                let input = key.to_input();
                match self.field {
                    Field::EventKey => {
                        self.event_key.input(input);
                    }
                    Field::MaxPayloadLength => {
                        self.max_payload_length.input(input);
                    }
                    Field::Secret => {
                        self.secret.input(input);
                    }
                    Field::PayloadType | Field::Verify | Field::Handshake => {}
                }
            }
        }
        Reply::default()
    }

    /// The §7 parameters this form changes: only what was changed here, so that an edit
    /// keeps the rest (a generic hmac config, a meta handshake, a response) as it is.
    fn sender_params(&self) -> std::collections::BTreeMap<String, String> {
        let mut p = std::collections::BTreeMap::new();
        let secret = self.secret.lines().join("");
        if self.scheme != self.had.0 || !secret.is_empty() {
            let scheme = self.scheme.map_or("none", Scheme::as_str);
            p.insert("verify.scheme".into(), scheme.into());
            if !secret.is_empty() && self.scheme.is_some() {
                p.insert("verify.secret".into(), secret);
            }
        }
        if self.handshake != self.had.1 {
            p.insert("handshake".into(), self.handshake.into());
        }
        p
    }

    pub(super) fn draw(&self, f: &mut Frame, theme: Theme, max_payload: u64) {
        let title = if self.editing.is_some() {
            " Edit webhook "
        } else {
            " New webhook "
        };
        let r = centered(f.area(), 64, 19);
        f.render_widget(Clear, r);
        let block = Block::bordered()
            .title(title)
            .border_style(theme.fg(ratatui::style::Color::Cyan));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let rows = Layout::vertical([Constraint::Length(1); 17]).split(inner);
        let label = |text: &str, field: Option<Field>| {
            let style = if field == Some(self.field) {
                theme.key()
            } else {
                Style::new()
            };
            Span::styled(format!("{text:<18}"), style)
        };
        let split = |row: Rect| {
            Layout::horizontal([Constraint::Length(18), Constraint::Min(1)]).areas::<2>(row)
        };
        let uuid = match self.editing {
            Some(u) => u.to_string(),
            None => "(new, random)".into(),
        };
        f.render_widget(
            Line::from(vec![
                label("uuid (fixed)", None),
                Span::styled(uuid, theme.dim()),
            ]),
            rows[0],
        );
        let text_field =
            |f: &mut Frame, row: Rect, name: &str, field: Field, input: &TextArea<'static>| {
                let [l, r] = split(row);
                f.render_widget(label(name, Some(field)), l);
                let mut input = input.clone();
                input.set_cursor_line_style(Style::new().add_modifier(Modifier::UNDERLINED));
                if self.field != field {
                    input.set_cursor_style(Style::new());
                }
                f.render_widget(&input, r);
            };
        let error_row = |f: &mut Frame, row: Rect, e: &Option<String>| {
            if let Some(e) = e {
                let [_, r] = split(row);
                f.render_widget(Span::styled(format!("✗ {e}"), theme.error()), r);
            }
        };
        text_field(f, rows[2], "eventKey", Field::EventKey, &self.event_key);
        error_row(f, rows[3], &self.errors.event_key);
        let [l, rr] = split(rows[4]);
        f.render_widget(label("payloadType", Some(Field::PayloadType)), l);
        let choices: Vec<Span> = PayloadType::ALL
            .iter()
            .map(|t| {
                if *t == self.payload_type {
                    Span::styled(format!("[{}] ", t.as_str()), theme.selected())
                } else {
                    Span::raw(format!(" {}  ", t.as_str()))
                }
            })
            .collect();
        f.render_widget(Line::from(choices), rr);
        error_row(f, rows[5], &self.errors.payload_type);
        text_field(
            f,
            rows[6],
            "maxPayloadLength",
            Field::MaxPayloadLength,
            &self.max_payload_length,
        );
        error_row(f, rows[7], &self.errors.max_payload_length);
        let choices = |words: Vec<&str>, chosen: &str| -> Line<'static> {
            let spans: Vec<Span> = words
                .iter()
                .map(|w| {
                    if *w == chosen {
                        Span::styled(format!("[{w}]"), theme.selected())
                    } else {
                        Span::raw(format!(" {w} "))
                    }
                })
                .collect();
            Line::from(spans)
        };
        let [l, rr] = split(rows[8]);
        f.render_widget(label("verify", Some(Field::Verify)), l);
        // Seven schemes do not fit the line: the chosen one, between the keys that change it.
        let scheme = self.scheme.map_or("none", Scheme::as_str);
        f.render_widget(
            Line::from(vec![
                Span::raw("← "),
                Span::styled(format!("[{scheme}]"), theme.selected()),
                Span::raw(" →"),
            ]),
            rr,
        );
        let hint = if self.had.0.is_some() {
            "secret (kept)"
        } else {
            "secret"
        };
        text_field(f, rows[9], hint, Field::Secret, &self.secret);
        let [l, rr] = split(rows[10]);
        f.render_widget(label("handshake", Some(Field::Handshake)), l);
        f.render_widget(choices(HANDSHAKES.to_vec(), self.handshake), rr);
        error_row(f, rows[11], &self.errors.sender);
        if let Some(e) = &self.error {
            f.render_widget(Span::styled(format!("✗ {e}"), theme.error()), rows[12]);
        }
        let footer = if self.saving {
            "Saving…".to_string()
        } else {
            format!("limit: at most {max_payload} bytes")
        };
        f.render_widget(Span::styled(footer, theme.dim()), rows[16]);
    }
}

/// The verify choices: none and every scheme (the generic hmac one needs the API for its
/// header, so choosing it here works only to keep it).
const SCHEMES: [Option<Scheme>; 7] = [
    None,
    Some(Scheme::Github),
    Some(Scheme::Stripe),
    Some(Scheme::Standard),
    Some(Scheme::Slack),
    Some(Scheme::Shopify),
    Some(Scheme::Hmac),
];

/// The handshakes the form sets; `meta` needs a verify token, so only the API sets it.
const HANDSHAKES: [&str; 4] = ["none", "slack", "graph", "meta"];

fn handshake_word(w: Option<&Webhook>) -> &'static str {
    match w.and_then(|w| w.handshake.as_ref()) {
        None => "none",
        Some(Handshake::Slack) => "slack",
        Some(Handshake::Graph) => "graph",
        Some(Handshake::Meta { .. }) => "meta",
    }
}
