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
use crate::domain::handshake::{Change, CustomResponse, Handshake};
use crate::domain::verify::{Scheme, VerifyChange};
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
    VerifyToken,
    ResponseStatus,
    ResponseContentType,
    ResponseBody,
}

impl Field {
    const ALL: [Field; 11] = [
        Field::EventKey,
        Field::PayloadType,
        Field::MaxPayloadLength,
        Field::AllowFrom,
        Field::Verify,
        Field::Secret,
        Field::Handshake,
        Field::VerifyToken,
        Field::ResponseStatus,
        Field::ResponseContentType,
        Field::ResponseBody,
    ];

    fn step(self, by: isize) -> Field {
        cycle(&Field::ALL, self, by)
    }
}

/// The custom response's three fields as typed (§7); all empty means none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ResponseText {
    status: String,
    content_type: String,
    body: String,
}

impl ResponseText {
    fn of(r: Option<&CustomResponse>) -> ResponseText {
        r.map_or_else(ResponseText::default, |r| ResponseText {
            status: r.status.to_string(),
            content_type: r.content_type.clone(),
            body: r.body.clone(),
        })
    }

    fn is_empty(&self) -> bool {
        self.status.trim().is_empty() && self.content_type.trim().is_empty() && self.body.is_empty()
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
    /// `none`, `slack`, `graph` or `meta`.
    pub handshake: &'static str,
    /// The meta handshake's `hub.verify_token`: write-only like the secret, masked, and left
    /// empty it keeps the stored one.
    pub verify_token: TextArea<'static>,
    /// The custom success response (§7); all three empty answers with the JSON of §2.
    pub response_status: TextArea<'static>,
    pub response_content_type: TextArea<'static>,
    pub response_body: TextArea<'static>,
    /// What the webhook had, so that an untouched setting sends nothing.
    had: (Option<Scheme>, &'static str),
    had_response: ResponseText,
    pub field: Field,
    pub errors: InputErrors,
    pub allow_from_error: Option<String>,
    pub verify_error: Option<String>,
    pub handshake_error: Option<String>,
    pub response_error: Option<String>,
    /// A failure that belongs to no field.
    pub error: Option<String>,
    pub saving: bool,
}

/// A masked one-line input, for secrets.
fn masked() -> TextArea<'static> {
    let mut t = super::single_line("");
    t.set_mask_char('•');
    t
}

/// A one-line input holding `text`, showing `hint` while empty.
fn with_hint(text: &str, hint: &str) -> TextArea<'static> {
    let mut t = super::single_line(text);
    t.set_placeholder_text(hint);
    t
}

fn text(t: &TextArea<'static>) -> String {
    t.lines().join("")
}

impl Form {
    /// A form for a new webhook, or filled in from the one being edited.
    pub fn new(editing: Option<&WebhookView>) -> Form {
        let had_response = ResponseText::of(editing.and_then(|w| w.response.as_ref()));
        let handshake = handshake_word(editing);
        let mut verify_token = masked();
        verify_token.set_placeholder_text(if handshake == "meta" {
            "(kept)"
        } else {
            "(for the meta handshake)"
        });
        Form {
            editing: editing.map(|w| w.uuid),
            event_key: super::single_line(editing.map_or("webhook.", |w| w.event_key.as_str())),
            payload_type: editing.map_or(PayloadType::Base64, |w| w.payload_type),
            max_payload_length: super::single_line(
                &editing
                    .map_or(DEFAULT_MAX_PAYLOAD_LENGTH, |w| w.max_payload_length)
                    .to_string(),
            ),
            allow_from: with_hint(
                &editing
                    .map(|w| {
                        let nets: Vec<String> =
                            w.allow_from.iter().map(ToString::to_string).collect();
                        nets.join(", ")
                    })
                    .unwrap_or_default(),
                "(any address; CIDRs, comma-separated)",
            ),
            scheme: editing.and_then(|w| w.scheme),
            secret: masked(),
            handshake,
            verify_token,
            response_status: with_hint(&had_response.status, "(none: the JSON answer)"),
            response_content_type: with_hint(
                &had_response.content_type,
                "(text/plain; charset=utf-8)",
            ),
            response_body: with_hint(&had_response.body, "(empty)"),
            had: (editing.and_then(|w| w.scheme), handshake),
            had_response,
            field: Field::EventKey,
            errors: InputErrors::default(),
            allow_from_error: None,
            verify_error: None,
            handshake_error: None,
            response_error: None,
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
                if let Some(params) = self.validated(ceiling) {
                    self.saving = true;
                    return Reply {
                        effects: vec![Effect::Put(PutParams(params))],
                        ..Reply::default()
                    };
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
                let field = match self.field {
                    Field::EventKey => &mut self.event_key,
                    Field::MaxPayloadLength => &mut self.max_payload_length,
                    Field::AllowFrom => &mut self.allow_from,
                    Field::Secret => &mut self.secret,
                    Field::VerifyToken => &mut self.verify_token,
                    Field::ResponseStatus => &mut self.response_status,
                    Field::ResponseContentType => &mut self.response_content_type,
                    Field::ResponseBody => &mut self.response_body,
                    Field::PayloadType | Field::Verify | Field::Handshake => {
                        return Reply::default();
                    }
                };
                field.input(input);
            }
        }
        Reply::default()
    }

    /// Checks every field with the API's own parsers, each error beside its field (an error
    /// fixed since goes away), and answers the put's parameters when all pass. What was
    /// typed stays either way.
    fn validated(&mut self, ceiling: u64) -> Option<Params> {
        let uuid = self.editing.map(|u| u.to_string());
        let key = text(&self.event_key);
        let max = text(&self.max_payload_length);
        let nets = text(&self.allow_from);
        let parsed = WebhookInput::parse(
            WebhookFields {
                uuid: uuid.as_deref(),
                event_key: Some(&key),
                payload_type: Some(self.payload_type.as_str()),
                max_payload_length: Some(&max),
            },
            ceiling,
        );
        self.errors = parsed.as_ref().err().cloned().unwrap_or_default();
        self.allow_from_error = parse_allow_from(&nets).err();
        let verify = self.verify_params();
        self.verify_error = VerifyChange::from_params(&verify).err();
        let handshake = self.handshake_params();
        self.handshake_error = self.check_handshake(&handshake).err();
        let response = self.response_params();
        self.response_error = CustomResponse::from_params(&response).err();
        self.error = None;
        let fine = parsed.is_ok()
            && self.allow_from_error.is_none()
            && self.verify_error.is_none()
            && self.handshake_error.is_none()
            && self.response_error.is_none();
        if !fine {
            return None;
        }
        let mut params = verify;
        params.extend(handshake);
        params.extend(response);
        if let Some(uuid) = uuid {
            params.insert("uuid".into(), uuid);
        }
        params.insert("eventKey".into(), key);
        params.insert("payloadType".into(), self.payload_type.as_str().into());
        params.insert("maxPayloadLength".into(), max);
        params.insert("allowFrom".into(), nets);
        Some(params)
    }

    /// `verify`, when the scheme changed or a secret was typed; else nothing, so that an
    /// edit keeps the rest (a generic hmac config) as it is.
    fn verify_params(&self) -> Params {
        let mut p = Params::new();
        let secret = text(&self.secret);
        if self.scheme != self.had.0 || !secret.is_empty() {
            let scheme = self.scheme.map_or("none", Scheme::as_str);
            p.insert("verify.scheme".into(), scheme.into());
            if !secret.is_empty() && self.scheme.is_some() {
                p.insert("verify.secret".into(), secret);
            }
        }
        p
    }

    /// `handshake`, when it changed or a verify token was typed.
    fn handshake_params(&self) -> Params {
        let mut p = Params::new();
        let token = text(&self.verify_token);
        if !token.is_empty() {
            p.insert("handshake.type".into(), self.handshake.into());
            p.insert("handshake.verifyToken".into(), token);
        } else if self.handshake != self.had.1 {
            p.insert("handshake".into(), self.handshake.into());
        }
        p
    }

    /// The API's check, and the one it makes when applying: a new meta handshake needs its
    /// token, since there is none to keep.
    fn check_handshake(&self, params: &Params) -> Result<(), String> {
        match Handshake::from_params(params)? {
            Some(Change::Set(h)) if self.had.1 != "meta" => h.keep_token(None).map(drop),
            _ => Ok(()),
        }
    }

    /// `response`, when any of its fields changed: `none` once all are empty.
    fn response_params(&self) -> Params {
        let mut p = Params::new();
        let now = ResponseText {
            status: text(&self.response_status),
            content_type: text(&self.response_content_type),
            body: text(&self.response_body),
        };
        if now == self.had_response {
            return p;
        }
        if now.is_empty() {
            p.insert("response".into(), "none".into());
            return p;
        }
        for (name, value) in [
            ("response.status", now.status),
            ("response.contentType", now.content_type),
            ("response.body", now.body),
        ] {
            if !value.trim().is_empty() {
                p.insert(name.into(), value);
            }
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
        const LABEL: u16 = 18;
        let field_w = (WIDTH - 2 - LABEL) as usize;
        let wrapped = |e: &Option<String>, w: usize| -> Vec<String> {
            e.as_ref()
                .map_or_else(Vec::new, |e| wrap_words(&format!("✗ {}", esc(e)), w))
        };
        let uuid = match self.editing {
            Some(u) => u.to_string(),
            None => "(new, random)".into(),
        };
        let scheme = self.scheme.map_or("none", Scheme::as_str);
        let secret_label = if self.had.0.is_some() {
            "secret (kept)"
        } else {
            "secret"
        };
        // The rows, top to bottom; an error takes rows only when there is one.
        let rows = vec![
            Row::Fixed("uuid (fixed)", uuid),
            Row::Text("eventKey", Field::EventKey, &self.event_key),
            Row::Error(wrapped(&self.errors.event_key, field_w)),
            Row::Choice(
                "payloadType",
                Field::PayloadType,
                PayloadType::ALL.iter().map(|t| t.as_str()).collect(),
                self.payload_type.as_str(),
            ),
            Row::Error(wrapped(&self.errors.payload_type, field_w)),
            Row::Text(
                "maxPayloadLength",
                Field::MaxPayloadLength,
                &self.max_payload_length,
            ),
            Row::Error(wrapped(&self.errors.max_payload_length, field_w)),
            Row::Text("allowFrom", Field::AllowFrom, &self.allow_from),
            Row::Error(wrapped(&self.allow_from_error, field_w)),
            // Seven schemes do not fit the line: the chosen one, between the keys that change it.
            Row::Scroll("verify", Field::Verify, scheme),
            Row::Text(secret_label, Field::Secret, &self.secret),
            Row::Error(wrapped(&self.verify_error, field_w)),
            Row::Choice(
                "handshake",
                Field::Handshake,
                HANDSHAKES.to_vec(),
                self.handshake,
            ),
            Row::Text("meta verifyToken", Field::VerifyToken, &self.verify_token),
            Row::Error(wrapped(&self.handshake_error, field_w)),
            Row::Text(
                "response status",
                Field::ResponseStatus,
                &self.response_status,
            ),
            Row::Text(
                "response type",
                Field::ResponseContentType,
                &self.response_content_type,
            ),
            Row::Text("response body", Field::ResponseBody, &self.response_body),
            Row::Error(wrapped(&self.response_error, field_w)),
            Row::Wide(wrapped(&self.error, (WIDTH - 2) as usize)),
            Row::Wide(vec![String::new()]),
            Row::Footer(if self.saving {
                "Saving…".to_string()
            } else {
                format!("limit: at most {max_payload} bytes")
            }),
        ];
        let heights: Vec<u16> = rows.iter().map(Row::height).collect();
        let r = centered(f.area(), WIDTH, heights.iter().sum::<u16>() + 2);
        f.render_widget(Clear, r);
        let block = Block::bordered()
            .title(title)
            .border_style(theme.fg(ratatui::style::Color::Cyan));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let areas = Layout::vertical(heights.iter().map(|h| Constraint::Length(*h))).split(inner);
        let label = |text: &str, field: Option<Field>| {
            let style = if field == Some(self.field) {
                theme.key()
            } else {
                Style::new()
            };
            Span::styled(format!("{text:<18}"), style)
        };
        let split = |row: Rect| {
            Layout::horizontal([Constraint::Length(LABEL), Constraint::Min(1)]).areas::<2>(row)
        };
        let error_lines = |e: &[String]| -> Vec<Line<'static>> {
            e.iter()
                .map(|l| Line::styled(l.clone(), theme.error()))
                .collect()
        };
        for (row, area) in rows.iter().zip(areas.iter()) {
            let [l, rr] = split(*area);
            match row {
                Row::Fixed(name, value) => f.render_widget(
                    Line::from(vec![
                        label(name, None),
                        Span::styled(value.clone(), theme.dim()),
                    ]),
                    *area,
                ),
                Row::Text(name, field, input) => {
                    f.render_widget(label(name, Some(*field)), l);
                    let mut input = (*input).clone();
                    input.set_cursor_line_style(Style::new().add_modifier(Modifier::UNDERLINED));
                    input.set_placeholder_style(theme.dim());
                    if self.field != *field {
                        input.set_cursor_style(Style::new());
                    }
                    f.render_widget(&input, rr);
                }
                Row::Choice(name, field, words, chosen) => {
                    f.render_widget(label(name, Some(*field)), l);
                    let spans: Vec<Span> = words
                        .iter()
                        .map(|w| {
                            if w == chosen {
                                Span::styled(format!("[{w}]"), theme.selected())
                            } else {
                                Span::raw(format!(" {w} "))
                            }
                        })
                        .collect();
                    f.render_widget(Line::from(spans), rr);
                }
                Row::Scroll(name, field, chosen) => {
                    f.render_widget(label(name, Some(*field)), l);
                    f.render_widget(
                        Line::from(vec![
                            Span::raw("← "),
                            Span::styled(format!("[{chosen}]"), theme.selected()),
                            Span::raw(" →"),
                        ]),
                        rr,
                    );
                }
                Row::Error(e) => f.render_widget(Paragraph::new(error_lines(e)), rr),
                Row::Wide(e) => f.render_widget(Paragraph::new(error_lines(e)), *area),
                Row::Footer(text) => {
                    f.render_widget(Span::styled(text.clone(), theme.dim()), *area)
                }
            }
        }
    }
}

/// One row of the form as drawn.
enum Row<'a> {
    /// A value shown, not edited.
    Fixed(&'static str, String),
    Text(&'static str, Field, &'a TextArea<'static>),
    /// Every choice on the line, the chosen one marked.
    Choice(&'static str, Field, Vec<&'static str>, &'static str),
    /// Only the chosen one, between the arrows.
    Scroll(&'static str, Field, &'static str),
    /// Lines under a field; none when there is no error.
    Error(Vec<String>),
    /// Lines across the whole width.
    Wide(Vec<String>),
    Footer(String),
}

impl Row<'_> {
    fn height(&self) -> u16 {
        match self {
            Row::Error(lines) | Row::Wide(lines) => lines.len() as u16,
            _ => 1,
        }
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

/// The handshakes the form sets; `meta` takes its verify token in the field below.
const HANDSHAKES: [&str; 4] = ["none", "slack", "graph", "meta"];

fn handshake_word(w: Option<&WebhookView>) -> &'static str {
    w.and_then(|w| w.handshake).unwrap_or("none")
}
