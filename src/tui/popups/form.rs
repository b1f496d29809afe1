//! The new/edit webhook form. It validates with the API's own parser, shows errors beside
//! their field and never loses what was typed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui_textarea::TextArea;
use uuid::Uuid;

use super::Reply;
use crate::domain::escape::escape_control as esc;
use crate::domain::verify::Scheme;
use crate::domain::webhook::{DEFAULT_MAX_PAYLOAD_LENGTH, InputErrors, parse_allow_from};
use crate::domain::{PayloadType, WebhookFields, WebhookInput, WebhookView};
use crate::service::command::Params;
use crate::tui::key::{Code, Key};
use crate::tui::keymap::{Action, cycle};
use crate::tui::msg::{Effect, PutFailure, PutParams};
use crate::tui::text::wrap_words;
use crate::tui::theme::{Theme, centered};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    EventKey,
    PayloadType,
    MaxPayloadLength,
    AllowFrom,
    Verify,
    Secret,
    Handshake,
}

impl Field {
    const ALL: [Field; 7] = [
        Field::EventKey,
        Field::PayloadType,
        Field::MaxPayloadLength,
        Field::AllowFrom,
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
    /// `allowFrom`: CIDRs separated by commas; empty lets any address call.
    pub allow_from: TextArea<'static>,
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
    pub allow_from_error: Option<String>,
    /// A failure that belongs to no field.
    pub error: Option<String>,
    pub saving: bool,
}

impl Form {
    /// A form for a new webhook, or filled in from the one being edited.
    pub fn new(editing: Option<&WebhookView>) -> Form {
        Form {
            editing: editing.map(|w| w.uuid),
            event_key: super::single_line(editing.map_or("webhook.", |w| w.event_key.as_str())),
            payload_type: editing.map_or(PayloadType::Base64, |w| w.payload_type),
            max_payload_length: super::single_line(
                &editing
                    .map_or(DEFAULT_MAX_PAYLOAD_LENGTH, |w| w.max_payload_length)
                    .to_string(),
            ),
            allow_from: super::single_line(
                &editing
                    .map(|w| {
                        let nets: Vec<String> =
                            w.allow_from.iter().map(ToString::to_string).collect();
                        nets.join(", ")
                    })
                    .unwrap_or_default(),
            ),
            scheme: editing.and_then(|w| w.scheme),
            secret: {
                let mut t = super::single_line("");
                t.set_mask_char('•');
                t
            },
            handshake: handshake_word(editing),
            had: (editing.and_then(|w| w.scheme), handshake_word(editing)),
            field: Field::EventKey,
            errors: InputErrors::default(),
            allow_from_error: None,
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
                let nets = self.allow_from.lines().join("");
                let sender = self.sender_params();
                // Checked here to show errors beside their field; the backend reads the
                // same parameters again, as the API does.
                let parsed = WebhookInput::parse(
                    WebhookFields {
                        uuid: uuid.as_deref(),
                        event_key: Some(&key),
                        payload_type: Some(self.payload_type.as_str()),
                        max_payload_length: Some(&max),
                    },
                    ceiling,
                )
                .and_then(|i| i.with_sender(&sender));
                let allow_from = parse_allow_from(&nets);
                self.allow_from_error = allow_from.as_ref().err().cloned();
                match (parsed, allow_from) {
                    (Ok(_), Ok(_)) => {
                        let mut params = sender;
                        if let Some(uuid) = uuid {
                            params.insert("uuid".into(), uuid);
                        }
                        params.insert("eventKey".into(), key);
                        params.insert("payloadType".into(), self.payload_type.as_str().into());
                        params.insert("maxPayloadLength".into(), max);
                        params.insert("allowFrom".into(), nets);
                        self.errors = InputErrors::default();
                        self.error = None;
                        self.saving = true;
                        return Reply {
                            effects: vec![Effect::Put(PutParams(params))],
                            ..Reply::default()
                        };
                    }
                    (Err(errors), _) => self.errors = errors,
                    (Ok(_), Err(_)) => self.errors = InputErrors::default(),
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
                    Field::AllowFrom => {
                        self.allow_from.input(input);
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
    fn sender_params(&self) -> Params {
        let mut p = Params::new();
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
        // Errors wrap inside the box rather than run past its edge.
        const WIDTH: u16 = 64;
        let field_w = (WIDTH - 2 - 18) as usize;
        let wrapped = |e: &Option<String>, w: usize| -> Vec<String> {
            e.as_ref()
                .map_or_else(Vec::new, |e| wrap_words(&format!("✗ {}", esc(e)), w))
        };
        let errors = [
            wrapped(&self.errors.event_key, field_w),
            wrapped(&self.errors.payload_type, field_w),
            wrapped(&self.errors.max_payload_length, field_w),
            wrapped(&self.allow_from_error, field_w),
            wrapped(&self.errors.sender, field_w),
            wrapped(&self.error, (WIDTH - 2) as usize),
        ];
        let height = |e: &Vec<String>| e.len().max(1) as u16;
        let extra: u16 = errors.iter().map(|e| height(e) - 1).sum();
        let r = centered(f.area(), WIDTH, 19 + extra);
        f.render_widget(Clear, r);
        let block = Block::bordered()
            .title(title)
            .border_style(theme.fg(ratatui::style::Color::Cyan));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let one = Constraint::Length(1);
        let rows = Layout::vertical([
            one,
            one,
            one,
            Constraint::Length(height(&errors[0])),
            one,
            Constraint::Length(height(&errors[1])),
            one,
            Constraint::Length(height(&errors[2])),
            one,
            Constraint::Length(height(&errors[3])),
            one,
            one,
            one,
            Constraint::Length(height(&errors[4])),
            Constraint::Length(height(&errors[5])),
            one,
            one,
        ])
        .split(inner);
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
        let lines = |e: &[String]| -> Vec<Line<'static>> {
            e.iter()
                .map(|l| Line::styled(l.clone(), theme.error()))
                .collect()
        };
        let error_row = |f: &mut Frame, row: Rect, e: &[String]| {
            let [_, r] = split(row);
            f.render_widget(Paragraph::new(lines(e)), r);
        };
        text_field(f, rows[2], "eventKey", Field::EventKey, &self.event_key);
        error_row(f, rows[3], &errors[0]);
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
        error_row(f, rows[5], &errors[1]);
        text_field(
            f,
            rows[6],
            "maxPayloadLength",
            Field::MaxPayloadLength,
            &self.max_payload_length,
        );
        error_row(f, rows[7], &errors[2]);
        text_field(f, rows[8], "allowFrom", Field::AllowFrom, &self.allow_from);
        if self.allow_from_error.is_some() {
            error_row(f, rows[9], &errors[3]);
        } else if self.allow_from.lines().join("").trim().is_empty() {
            let [_, r] = split(rows[9]);
            f.render_widget(
                Span::styled("any address (CIDRs, comma-separated)", theme.dim()),
                r,
            );
        }
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
        let [l, rr] = split(rows[10]);
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
        text_field(f, rows[11], hint, Field::Secret, &self.secret);
        let [l, rr] = split(rows[12]);
        f.render_widget(label("handshake", Some(Field::Handshake)), l);
        f.render_widget(choices(HANDSHAKES.to_vec(), self.handshake), rr);
        error_row(f, rows[13], &errors[4]);
        f.render_widget(Paragraph::new(lines(&errors[5])), rows[14]);
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

fn handshake_word(w: Option<&WebhookView>) -> &'static str {
    w.and_then(|w| w.handshake).unwrap_or("none")
}
