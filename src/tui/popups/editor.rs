//! The pipeline editor: a name and a multi-line YAML document. It validates with the API's
//! own parser before saving, shows an error under the text with the cursor moved to its line
//! and column, and never loses what was typed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui_textarea::{CursorMove, DataCursor, TextArea};

use super::Reply;
use crate::domain::escape::escape_control as esc;
use crate::domain::pipeline::{Pipeline, PipelineRecord, validate_pipeline_name};
use crate::tui::key::{Code, Key};
use crate::tui::keymap::Action;
use crate::tui::msg::Effect;
use crate::tui::theme::{Theme, centered};

/// A new pipeline starts as the reference example of SPEC §6.
pub const REFERENCE: &str = r##"pipeline:
 - event.listen:
     eventKey: webhook.lead.created
 - mail:
     to: name@company.tld
     subject: "New lead was created!"
     body: "#{@convert.fromBase64(body.origin)}"
"##;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorField {
    Name,
    Document,
}

#[derive(Debug, Clone)]
pub struct Editor {
    /// The pipeline being edited; its name is shown but cannot change. `None`: a new one.
    pub editing: Option<String>,
    pub name: TextArea<'static>,
    pub document: TextArea<'static>,
    pub field: EditorField,
    /// Kept as it was: the editor does not switch pipelines on or off.
    enabled: bool,
    /// Why the last save was refused, shown under the text.
    pub error: Option<String>,
    pub saving: bool,
    /// The text as opened, to tell whether Esc would lose anything.
    opened: (String, String),
    /// Esc was pressed once with changes: the next one discards them.
    discarding: bool,
}

impl Editor {
    /// An editor for a new pipeline, prefilled with the reference example.
    pub fn for_new() -> Editor {
        Editor::open(None, "", REFERENCE, true)
    }

    /// An editor on a stored pipeline's document.
    pub fn for_edit(p: &PipelineRecord) -> Editor {
        Editor::open(Some(p.name.clone()), &p.name, &p.yaml, p.enabled)
    }

    fn open(editing: Option<String>, name: &str, yaml: &str, enabled: bool) -> Editor {
        let mut document = TextArea::new(yaml.lines().map(str::to_string).collect());
        document.set_tab_length(2);
        let field = if editing.is_some() {
            EditorField::Document
        } else {
            EditorField::Name
        };
        let mut editor = Editor {
            editing,
            name: super::single_line(name),
            document,
            field,
            enabled,
            error: None,
            saving: false,
            opened: (String::new(), String::new()),
            discarding: false,
        };
        editor.opened = editor.texts();
        editor
    }

    /// The name and the document as they stand.
    pub fn texts(&self) -> (String, String) {
        let mut yaml = self.document.lines().join("\n");
        yaml.push('\n');
        (self.name.lines().join("").trim().to_string(), yaml)
    }

    fn modified(&self) -> bool {
        self.texts() != self.opened
    }

    /// The save failed: the editor stays open with the error.
    pub fn failed(&mut self, message: String) {
        self.saving = false;
        self.error = Some(message);
    }

    /// Whether Tab has anything to switch between.
    pub fn has_name_field(&self) -> bool {
        self.editing.is_none()
    }

    pub(super) fn key(&mut self, key: Key, action: Option<Action>) -> Reply {
        let discarding = std::mem::take(&mut self.discarding);
        match action {
            Some(Action::Cancel) => {
                if discarding || !self.modified() {
                    return Reply::close();
                }
                self.discarding = true;
            }
            Some(Action::Submit) if !self.saving => return self.submit(),
            Some(Action::Submit) => {}
            Some(Action::NextField) => {
                if self.has_name_field() {
                    self.field = match self.field {
                        EditorField::Name => EditorField::Document,
                        EditorField::Document => EditorField::Name,
                    };
                }
            }
            _ => self.type_key(key),
        }
        Reply::default()
    }

    /// Validates as the API does; a valid pipeline is sent, an invalid one stays with its error.
    fn submit(&mut self) -> Reply {
        let (name, yaml) = self.texts();
        if let Err(e) = validate_pipeline_name(&name) {
            self.error = Some(e);
            self.field = EditorField::Name;
            return Reply::default();
        }
        if let Err(e) = Pipeline::parse(&yaml) {
            self.error = Some(e.to_string());
            self.field = EditorField::Document;
            let at = |n: usize| u16::try_from(n.saturating_sub(1)).unwrap_or(u16::MAX);
            self.document
                .move_cursor(CursorMove::Jump(at(e.pos.line), at(e.pos.column)));
            return Reply::default();
        }
        self.error = None;
        self.saving = true;
        Reply {
            effects: vec![Effect::PutPipeline {
                name,
                yaml,
                enabled: self.enabled,
            }],
            ..Reply::default()
        }
    }

    fn type_key(&mut self, key: Key) {
        let plain_enter = key == Key::new(Code::Enter);
        match self.field {
            // The name is one line.
            EditorField::Name if plain_enter || key == Key::ctrl('m') => {}
            EditorField::Name => {
                self.name.input(key.to_input());
            }
            // A new line keeps the indentation of the one it breaks, as YAML needs.
            EditorField::Document if plain_enter => {
                let DataCursor(row, col) = self.document.cursor();
                let indent: String = self.document.lines()[row]
                    .chars()
                    .take(col)
                    .take_while(|c| *c == ' ')
                    .collect();
                self.document.insert_newline();
                self.document.insert_str(indent);
            }
            EditorField::Document => {
                self.document.input(key.to_input());
            }
        }
    }

    pub(super) fn draw(&self, f: &mut Frame, theme: Theme) {
        let area = f.area();
        let r = centered(area, 100, area.height.saturating_sub(2));
        f.render_widget(Clear, r);
        let title = match &self.editing {
            Some(_) => " Edit pipeline ",
            None => " New pipeline ",
        };
        let block = Block::bordered()
            .title(title)
            .border_style(theme.fg(Color::Cyan));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let message = if self.discarding {
            Some(Line::styled(
                "Unsaved changes: Esc again discards them, Ctrl-s saves.",
                theme.error(),
            ))
        } else {
            self.error
                .as_ref()
                .map(|e| Line::styled(format!("✗ {}", esc(e)), theme.error()))
        };
        // Room for the message as it wraps (a line more for the words that move down), so
        // that a long error is read whole.
        let message_rows = message.as_ref().map_or(1, |m| {
            (m.width().div_ceil(inner.width.max(1) as usize) + 1).min(5) as u16
        });
        let [name_row, doc_area, error_area, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(message_rows),
            Constraint::Length(1),
        ])
        .areas(inner);
        let label = |text: &str, field: EditorField| {
            let style = if field == self.field {
                theme.key()
            } else {
                Style::new()
            };
            Span::styled(format!("{text:<6}"), style)
        };
        let [l, input] =
            Layout::horizontal([Constraint::Length(6), Constraint::Min(1)]).areas(name_row);
        f.render_widget(label("name", EditorField::Name), l);
        match &self.editing {
            Some(name) => {
                f.render_widget(Span::styled(format!("{name} (fixed)"), theme.dim()), input)
            }
            None => {
                let mut name = self.name.clone();
                name.set_cursor_line_style(Style::new());
                if self.field != EditorField::Name {
                    name.set_cursor_style(Style::new());
                }
                f.render_widget(&name, input);
            }
        }
        let mut doc = self.document.clone();
        doc.set_cursor_line_style(Style::new());
        doc.set_line_number_style(theme.dim());
        if self.field != EditorField::Document {
            doc.set_cursor_style(Style::new());
        }
        f.render_widget(&doc, doc_area);
        if let Some(m) = message {
            f.render_widget(Paragraph::new(m).wrap(Wrap { trim: false }), error_area);
        }
        let DataCursor(row, col) = self.document.cursor();
        let status = if self.saving {
            "Saving…".to_string()
        } else {
            format!("line {}, column {}", row + 1, col + 1)
        };
        f.render_widget(Span::styled(status, theme.dim()), footer);
    }
}
