//! The `#{…}` expression language of SPEC §6: templates, operators, scopes and utilities.
//!
//! Expressions are parsed once, when a pipeline is put, into an AST; running a step only
//! evaluates that AST. Evaluation never parses a string taken from a value, so a `#{…}` that
//! arrives inside a webhook body stays text: data is never code.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, STANDARD_NO_PAD as B64_NO_PAD};
use regex::Regex;
use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

use crate::domain::time::rfc3339_ms;

/// Deepest expression nesting accepted; deeper input is refused, never overflows the stack.
pub const MAX_DEPTH: usize = 64;
/// Longest `matches` pattern, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;
/// Compiled size limit handed to the regex crate, so a short pattern cannot grow huge.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What evaluation reads: the step's input, the pipeline's vars and headers, and the clock.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub body: &'a Value,
    pub vars: &'a Value,
    pub headers: &'a Value,
    /// Unix milliseconds, for `@date.now()`.
    pub now_ms: i64,
}

/// A syntax error at a character offset (0-based) of the text given to [`Template::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.offset + 1, self.message)
    }
}

/// A run-time error: a type mismatch, bad base64, a null navigated with `.`, and so on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(message.into()))
}

/// A string parameter: text with `#{…}` expressions in it.
#[derive(Debug, Clone)]
pub enum Template {
    /// No expression at all.
    Text(String),
    /// Exactly one `#{…}` and nothing else: it yields the value itself.
    Single(Expr),
    /// Text and expressions, rendered as text.
    Mixed(Vec<Part>),
}

#[derive(Debug, Clone)]
pub enum Part {
    Text(String),
    Expr(Expr),
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, ParseError> {
        let chars: Vec<char> = src.chars().collect();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '#' && chars.get(i + 1) == Some(&'{') {
                let (tokens, end) = lex(&chars, i + 2)?;
                let expr = Parser::new(tokens, end).parse()?;
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Expr(expr));
                i = end + 1;
            } else {
                text.push(chars[i]);
                i += 1;
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(match parts.len() {
            0 => Template::Text(String::new()),
            1 => match parts.pop() {
                Some(Part::Expr(e)) => Template::Single(e),
                Some(Part::Text(t)) => Template::Text(t),
                None => Template::Text(String::new()),
            },
            _ => Template::Mixed(parts),
        })
    }

    /// Whether the template holds no expression.
    pub fn is_text(&self) -> bool {
        matches!(self, Template::Text(_))
    }

    pub fn eval(&self, scope: &Scope) -> Result<Value, EvalError> {
        match self {
            Template::Text(t) => Ok(Value::String(t.clone())),
            Template::Single(e) => e.eval(scope).map(Cow::into_owned),
            Template::Mixed(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Text(t) => out.push_str(t),
                        Part::Expr(e) => out.push_str(&to_text(&*e.eval(scope)?)),
                    }
                    capped(out.len())?;
                }
                Ok(Value::String(out))
            }
        }
    }
}

/// A value written as text: strings as they are, null as nothing, maps and lists as JSON.
pub fn to_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

/// `false`, `null`, `0`, empty text, an empty list or map are false; everything else is true.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(Number),
    Str(String),
    At,
    Dot,
    SafeDot,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Question,
    Colon,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Bang,
    AndAnd,
    OrOr,
}

impl Tok {
    fn describe(&self) -> String {
        let symbol = match self {
            Tok::Ident(s) => return format!("`{s}`"),
            Tok::Num(n) => return format!("the number {n}"),
            Tok::Str(_) => return "a text literal".into(),
            Tok::At => "@",
            Tok::Dot => ".",
            Tok::SafeDot => "?.",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Question => "?",
            Tok::Colon => ":",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Bang => "!",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
        };
        format!("`{symbol}`")
    }
}

fn perr<T>(offset: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        offset,
        message: message.into(),
    })
}

/// Tokens from `start` up to the `}` that closes the expression, and that `}`'s offset.
fn lex(c: &[char], start: usize) -> Result<(Vec<(Tok, usize)>, usize), ParseError> {
    let mut out = Vec::new();
    let mut i = start;
    loop {
        let Some(&ch) = c.get(i) else {
            return perr(start.saturating_sub(2), "`#{` is never closed by `}`");
        };
        let at = i;
        let two = |a: char, b: char| ch == a && c.get(i + 1) == Some(&b);
        let tok = match ch {
            '}' => return Ok((out, i)),
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
                continue;
            }
            '\'' | '"' => {
                let (s, next) = lex_string(c, i)?;
                i = next;
                out.push((Tok::Str(s), at));
                continue;
            }
            '0'..='9' => {
                let (n, next) = lex_number(c, i)?;
                i = next;
                out.push((Tok::Num(n), at));
                continue;
            }
            ch if ch.is_ascii_alphabetic() || ch == '_' => {
                let mut s = String::new();
                while let Some(&ch) = c
                    .get(i)
                    .filter(|ch| ch.is_ascii_alphanumeric() || **ch == '_')
                {
                    s.push(ch);
                    i += 1;
                }
                out.push((Tok::Ident(s), at));
                continue;
            }
            _ if two('?', '.') => {
                i += 1;
                Tok::SafeDot
            }
            _ if two('=', '=') => {
                i += 1;
                Tok::EqEq
            }
            _ if two('!', '=') => {
                i += 1;
                Tok::Ne
            }
            _ if two('<', '=') => {
                i += 1;
                Tok::Le
            }
            _ if two('>', '=') => {
                i += 1;
                Tok::Ge
            }
            _ if two('&', '&') => {
                i += 1;
                Tok::AndAnd
            }
            _ if two('|', '|') => {
                i += 1;
                Tok::OrOr
            }
            '@' => Tok::At,
            '.' => Tok::Dot,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '?' => Tok::Question,
            ':' => Tok::Colon,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '!' => Tok::Bang,
            '=' => return perr(at, "`=` is not an operator; compare with `==`"),
            other => return perr(at, format!("unexpected character {other:?}")),
        };
        i += 1;
        out.push((tok, at));
    }
}

/// `'text'` or `"text"`; the quote is doubled to write it inside (`'it''s'`), as in SpEL.
fn lex_string(c: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let quote = c[start];
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match c.get(i) {
            None => return perr(start, "text literal is never closed"),
            Some(&ch) if ch == quote => {
                if c.get(i + 1) == Some(&quote) {
                    s.push(quote);
                    i += 2;
                } else {
                    return Ok((s, i + 1));
                }
            }
            Some(&ch) => {
                s.push(ch);
                i += 1;
            }
        }
    }
}

fn lex_number(c: &[char], start: usize) -> Result<(Number, usize), ParseError> {
    let mut i = start;
    let digits = |i: &mut usize| {
        while c.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
    };
    digits(&mut i);
    let mut float = false;
    if c.get(i) == Some(&'.') && c.get(i + 1).is_some_and(char::is_ascii_digit) {
        float = true;
        i += 1;
        digits(&mut i);
    }
    if matches!(c.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(c.get(j), Some('+' | '-')) {
            j += 1;
        }
        if c.get(j).is_some_and(char::is_ascii_digit) {
            float = true;
            i = j;
            digits(&mut i);
        }
    }
    let text: String = c[start..i].iter().collect();
    let n = if float {
        text.parse::<f64>().ok().and_then(Number::from_f64)
    } else {
        text.parse::<i64>().ok().map(Number::from)
    };
    match n {
        Some(n) => Ok((n, i)),
        None => perr(start, format!("{text} is not a number hooktail can hold")),
    }
}

// ---------------------------------------------------------------------------------------------
// AST and parser

/// A parsed expression. `depth` bounds evaluation's recursion.
#[derive(Debug, Clone)]
pub struct Expr {
    kind: Box<ExprKind>,
    depth: usize,
}

#[derive(Debug, Clone)]
enum ExprKind {
    Literal(Value),
    Root(Root),
    Member {
        target: Expr,
        name: String,
        safe: bool,
    },
    Index {
        target: Expr,
        index: Expr,
    },
    Call {
        func: Func,
        args: Vec<Expr>,
    },
    Not(Expr),
    Neg(Expr),
    And(Expr, Expr),
    Or(Expr, Expr),
    Binary {
        op: BinOp,
        lhs: Expr,
        rhs: Expr,
    },
    Matches {
        lhs: Expr,
        regex: Regex,
    },
    Ternary {
        cond: Expr,
        then: Expr,
        otherwise: Expr,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Body,
    Vars,
    Headers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
}

/// The utilities of §6, each with its number of arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    FromBase64,
    ToBase64,
    ToJson,
    ToLong,
    ToBoolean,
    Stringify,
    Sha256,
    Now,
}

impl Func {
    const ALL: [(&'static str, Func, usize); 8] = [
        ("convert.fromBase64", Func::FromBase64, 1),
        ("convert.toBase64", Func::ToBase64, 1),
        ("convert.toJson", Func::ToJson, 1),
        ("convert.toLong", Func::ToLong, 1),
        ("convert.toBoolean", Func::ToBoolean, 1),
        ("json.stringify", Func::Stringify, 1),
        ("hash.sha256", Func::Sha256, 1),
        ("date.now", Func::Now, 0),
    ];

    fn lookup(name: &str) -> Option<(Func, usize)> {
        Self::ALL
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|&(_, f, arity)| (f, arity))
    }
}

/// Names of every utility, for messages and documentation.
pub fn utility_names() -> impl Iterator<Item = &'static str> {
    Func::ALL.iter().map(|(n, ..)| *n)
}

impl ExprKind {
    /// Depth of the deepest direct child.
    fn child_depth(&self) -> usize {
        let d = |e: &Expr| e.depth;
        match self {
            ExprKind::Literal(_) | ExprKind::Root(_) => 0,
            ExprKind::Member { target, .. } => d(target),
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Matches { lhs: e, .. } => d(e),
            ExprKind::Index { target, index } => d(target).max(d(index)),
            ExprKind::And(l, r) | ExprKind::Or(l, r) | ExprKind::Binary { lhs: l, rhs: r, .. } => {
                d(l).max(d(r))
            }
            ExprKind::Call { args, .. } => args.iter().map(d).max().unwrap_or(0),
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => d(cond).max(d(then)).max(d(otherwise)),
        }
    }
}

impl Expr {
    /// A node over already-built children; refused when it would nest too deep.
    fn new(kind: ExprKind, at: usize) -> Result<Expr, ParseError> {
        let depth = 1 + kind.child_depth();
        if depth > MAX_DEPTH {
            return perr(
                at,
                format!("the expression is nested deeper than {MAX_DEPTH} levels"),
            );
        }
        Ok(Expr {
            kind: Box::new(kind),
            depth,
        })
    }

    fn leaf(kind: ExprKind) -> Expr {
        Expr {
            kind: Box::new(kind),
            depth: 1,
        }
    }
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    /// Offset of the closing `}`, for errors at the end.
    end: usize,
    /// Current recursion depth of the descent, bounded by `MAX_DEPTH`.
    nesting: usize,
}

impl Parser {
    fn new(tokens: Vec<(Tok, usize)>, end: usize) -> Self {
        Self {
            tokens,
            pos: 0,
            end,
            nesting: 0,
        }
    }

    fn parse(mut self) -> Result<Expr, ParseError> {
        if self.tokens.is_empty() {
            return perr(self.end, "empty expression `#{}`");
        }
        let e = self.expr()?;
        match self.tokens.get(self.pos) {
            None => Ok(e),
            Some((t, at)) => perr(
                *at,
                format!("unexpected {} after the expression", t.describe()),
            ),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), ParseError> {
        let at = self.offset();
        match self.next() {
            Some(t) if t == tok => Ok(()),
            Some(t) => perr(
                at,
                format!("expected {}, found {}", tok.describe(), t.describe()),
            ),
            None => perr(at, format!("expected {} before `}}`", tok.describe())),
        }
    }

    /// Enters one level of the descent; refuses input nested too deep before the stack suffers.
    fn enter(&mut self) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return perr(
                self.offset(),
                format!("the expression is nested deeper than {MAX_DEPTH} levels"),
            );
        }
        Ok(())
    }

    /// Lowest precedence: the ternary `c ? x : y`, right-associative.
    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let at = self.offset();
        let cond = self.or()?;
        let e = if self.eat(&Tok::Question) {
            let then = self.expr()?;
            self.expect(Tok::Colon)?;
            let otherwise = self.expr()?;
            Expr::new(
                ExprKind::Ternary {
                    cond,
                    then,
                    otherwise,
                },
                at,
            )?
        } else {
            cond
        };
        self.nesting -= 1;
        Ok(e)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.and()?;
        loop {
            let at = self.offset();
            if !(self.eat(&Tok::OrOr) || self.eat_word("or")) {
                return Ok(lhs);
            }
            let rhs = self.and()?;
            lhs = Expr::new(ExprKind::Or(lhs, rhs), at)?;
        }
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.comparison()?;
        loop {
            let at = self.offset();
            if !(self.eat(&Tok::AndAnd) || self.eat_word("and")) {
                return Ok(lhs);
            }
            let rhs = self.comparison()?;
            lhs = Expr::new(ExprKind::And(lhs, rhs), at)?;
        }
    }

    /// `==` `!=` `<` `<=` `>` `>=` `matches`: one per operand pair, never chained.
    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.sum()?;
        let at = self.offset();
        let e = if self.eat_word("matches") {
            let pat_at = self.offset();
            let Some(Tok::Str(pattern)) = self.next() else {
                return perr(
                    pat_at,
                    "`matches` takes a text literal as its pattern, such as 'a.*'",
                );
            };
            let regex = compile_pattern(&pattern).or_else(|m| perr(pat_at, m))?;
            Expr::new(ExprKind::Matches { lhs, regex }, at)?
        } else {
            let op = match self.peek() {
                Some(Tok::EqEq) => BinOp::Eq,
                Some(Tok::Ne) => BinOp::Ne,
                Some(Tok::Lt) => BinOp::Lt,
                Some(Tok::Le) => BinOp::Le,
                Some(Tok::Gt) => BinOp::Gt,
                Some(Tok::Ge) => BinOp::Ge,
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.sum()?;
            Expr::new(ExprKind::Binary { op, lhs, rhs }, at)?
        };
        if matches!(
            self.peek(),
            Some(Tok::EqEq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge)
        ) || matches!(self.peek(), Some(Tok::Ident(w)) if w == "matches")
        {
            return perr(
                self.offset(),
                "comparisons cannot be chained; combine them with `and`",
            );
        }
        Ok(e)
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            let at = self.offset();
            if !self.eat(&Tok::Plus) {
                return Ok(lhs);
            }
            let rhs = self.unary()?;
            lhs = Expr::new(
                ExprKind::Binary {
                    op: BinOp::Add,
                    lhs,
                    rhs,
                },
                at,
            )?;
        }
    }

    /// `not`, `!` and `-` bind tighter than comparisons, as in SpEL: `!a == b` is `(!a) == b`.
    fn unary(&mut self) -> Result<Expr, ParseError> {
        let at = self.offset();
        let wrap: Option<fn(Expr) -> ExprKind> = if self.eat(&Tok::Bang) || self.eat_word("not") {
            Some(ExprKind::Not)
        } else if self.eat(&Tok::Minus) {
            Some(ExprKind::Neg)
        } else {
            None
        };
        match wrap {
            Some(wrap) => {
                self.enter()?;
                let inner = self.unary()?;
                self.nesting -= 1;
                Expr::new(wrap(inner), at)
            }
            None => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        loop {
            let at = self.offset();
            let safe = match self.peek() {
                Some(Tok::Dot) => false,
                Some(Tok::SafeDot) => true,
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let index = self.expr()?;
                    self.expect(Tok::RBracket)?;
                    e = Expr::new(ExprKind::Index { target: e, index }, at)?;
                    continue;
                }
                _ => return Ok(e),
            };
            self.pos += 1;
            let name_at = self.offset();
            let Some(Tok::Ident(name)) = self.next() else {
                return perr(name_at, "expected a name after `.`");
            };
            e = Expr::new(
                ExprKind::Member {
                    target: e,
                    name,
                    safe,
                },
                at,
            )?;
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let at = self.offset();
        let Some(tok) = self.next() else {
            return perr(at, "the expression ends too early");
        };
        let lit = |v: Value| Ok(Expr::leaf(ExprKind::Literal(v)));
        match tok {
            Tok::Num(n) => lit(Value::Number(n)),
            Tok::Str(s) => lit(Value::String(s)),
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Tok::At => self.call(at),
            Tok::Ident(word) => match word.as_str() {
                "true" => lit(Value::Bool(true)),
                "false" => lit(Value::Bool(false)),
                "null" => lit(Value::Null),
                "body" => Ok(Expr::leaf(ExprKind::Root(Root::Body))),
                "vars" => Ok(Expr::leaf(ExprKind::Root(Root::Vars))),
                "headers" => Ok(Expr::leaf(ExprKind::Root(Root::Headers))),
                _ => perr(
                    at,
                    format!("unknown name `{word}`; use body, vars or headers"),
                ),
            },
            other => perr(at, format!("unexpected {}", other.describe())),
        }
    }

    /// `@namespace.name(args)`, checked against the known utilities and their arity.
    fn call(&mut self, at: usize) -> Result<Expr, ParseError> {
        let mut name = String::new();
        loop {
            let Some(Tok::Ident(part)) = self.next() else {
                return perr(
                    at,
                    "expected a utility name after `@`, such as @convert.toJson",
                );
            };
            name.push_str(&part);
            if !self.eat(&Tok::Dot) {
                break;
            }
            name.push('.');
        }
        let Some((func, arity)) = Func::lookup(&name) else {
            let known: Vec<_> = utility_names().map(|n| format!("@{n}")).collect();
            return perr(
                at,
                format!("unknown utility @{name}; known: {}", known.join(", ")),
            );
        };
        self.expect(Tok::LParen)?;
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.expr()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect(Tok::Comma)?;
            }
        }
        if args.len() != arity {
            return perr(
                at,
                format!(
                    "@{name} takes {arity} argument{}, not {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
            );
        }
        Expr::new(ExprKind::Call { func, args }, at)
    }
}

/// A `matches` pattern, compiled once, anchored to match the whole text (as Java's `matches`).
fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "the pattern is longer than {MAX_PATTERN_LEN} bytes"
        ));
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("bad regular expression: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl Expr {
    pub fn eval<'a>(&self, scope: &Scope<'a>) -> Result<Cow<'a, Value>, EvalError> {
        match &*self.kind {
            ExprKind::Literal(v) => Ok(Cow::Owned(v.clone())),
            ExprKind::Root(Root::Body) => Ok(Cow::Borrowed(scope.body)),
            ExprKind::Root(Root::Vars) => Ok(Cow::Borrowed(scope.vars)),
            ExprKind::Root(Root::Headers) => Ok(Cow::Borrowed(scope.headers)),
            ExprKind::Member { target, name, safe } => {
                let t = target.eval(scope)?;
                if t.is_null() && *safe {
                    return Ok(Cow::Owned(Value::Null));
                }
                member(t, name)
            }
            ExprKind::Index { target, index } => {
                let t = target.eval(scope)?;
                let i = index.eval(scope)?;
                match (&*i, &*t) {
                    (Value::String(name), _) => member(t, name),
                    (Value::Number(n), Value::Array(_)) => {
                        let Some(i) = n.as_i64() else {
                            return fail(format!("list index {n} is not a whole number"));
                        };
                        Ok(project(t, |v| {
                            let list = v.as_array()?;
                            let i = if i < 0 { list.len() as i64 + i } else { i };
                            usize::try_from(i).ok().and_then(|i| list.get(i))
                        }))
                    }
                    (Value::Number(_), other) => {
                        fail(format!("cannot index {} by a number", type_name(other)))
                    }
                    (other, _) => fail(format!(
                        "an index must be text or a number, not {}",
                        type_name(other)
                    )),
                }
            }
            ExprKind::Call { func, args } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(a.eval(scope)?);
                }
                call(*func, &values, scope).map(Cow::Owned)
            }
            ExprKind::Not(e) => Ok(Cow::Owned(Value::Bool(!truthy(&*e.eval(scope)?)))),
            ExprKind::Neg(e) => match &*e.eval(scope)? {
                Value::Number(n) => Ok(Cow::Owned(negate(n)?)),
                other => fail(format!("cannot negate {}", type_name(other))),
            },
            // `and` and `or` evaluate their right side only when needed.
            ExprKind::And(l, r) => Ok(Cow::Owned(Value::Bool(
                truthy(&*l.eval(scope)?) && truthy(&*r.eval(scope)?),
            ))),
            ExprKind::Or(l, r) => Ok(Cow::Owned(Value::Bool(
                truthy(&*l.eval(scope)?) || truthy(&*r.eval(scope)?),
            ))),
            ExprKind::Binary { op, lhs, rhs } => binary_eval(*op, lhs, rhs, scope).map(Cow::Owned),
            ExprKind::Matches { lhs, regex } => match &*lhs.eval(scope)? {
                Value::String(s) => Ok(Cow::Owned(Value::Bool(regex.is_match(s)))),
                Value::Null => Ok(Cow::Owned(Value::Bool(false))),
                other => fail(format!("`matches` needs text, not {}", type_name(other))),
            },
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                if truthy(&*cond.eval(scope)?) {
                    then.eval(scope)
                } else {
                    otherwise.eval(scope)
                }
            }
        }
    }
}

/// A part of a value, borrowed when the value is borrowed; null when `pick` finds nothing.
fn project<'a>(v: Cow<'a, Value>, pick: impl Fn(&Value) -> Option<&Value>) -> Cow<'a, Value> {
    match v {
        Cow::Borrowed(b) => pick(b).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        Cow::Owned(o) => Cow::Owned(pick(&o).cloned().unwrap_or(Value::Null)),
    }
}

/// `a.b` and `a['b']`: a missing key is null; a null or a non-map has no members.
fn member<'a>(t: Cow<'a, Value>, name: &str) -> Result<Cow<'a, Value>, EvalError> {
    match &*t {
        Value::Object(_) => Ok(project(t, |v| v.get(name))),
        Value::Null => fail(format!(
            "cannot read `{name}` of null; use `?.` to allow a missing value"
        )),
        other => fail(format!("cannot read `{name}` of {}", type_name(other))),
    }
}

fn negate(n: &Number) -> Result<Value, EvalError> {
    if let Some(i) = n.as_i64()
        && let Some(neg) = i.checked_neg()
    {
        return Ok(Value::from(neg));
    }
    match n.as_f64().map(|f| -f).and_then(Number::from_f64) {
        Some(f) => Ok(Value::Number(f)),
        None => fail(format!("cannot negate {n}")),
    }
}

fn binary_eval(op: BinOp, lhs: &Expr, rhs: &Expr, scope: &Scope) -> Result<Value, EvalError> {
    let l = lhs.eval(scope)?;
    let r = rhs.eval(scope)?;
    let ordering = || compare(&l, &r);
    let result = match op {
        BinOp::Eq => equal(&l, &r),
        BinOp::Ne => !equal(&l, &r),
        BinOp::Lt => ordering()?.is_lt(),
        BinOp::Le => ordering()?.is_le(),
        BinOp::Gt => ordering()?.is_gt(),
        BinOp::Ge => ordering()?.is_ge(),
        BinOp::Add => return add(&l, &r),
    };
    Ok(Value::Bool(result))
}

/// Numbers compare by value (`1 == 1.0`); everything else structurally.
fn equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => number_cmp(a, b).is_eq(),
        _ => l == r,
    }
}

fn number_cmp(a: &Number, b: &Number) -> std::cmp::Ordering {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
        }
    }
}

fn compare(l: &Value, r: &Value) -> Result<std::cmp::Ordering, EvalError> {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => Ok(number_cmp(a, b)),
        (Value::String(a), Value::String(b)) => Ok(a.cmp(b)),
        _ => fail(format!(
            "cannot order {} and {}",
            type_name(l),
            type_name(r)
        )),
    }
}

/// Numbers add; anything else is joined as text.
fn add(l: &Value, r: &Value) -> Result<Value, EvalError> {
    if let (Value::Number(a), Value::Number(b)) = (l, r) {
        if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
            && let Some(sum) = x.checked_add(y)
        {
            return Ok(Value::from(sum));
        }
        let sum = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
        return match Number::from_f64(sum) {
            Some(n) => Ok(Value::Number(n)),
            None => fail(format!("{a} + {b} is not a finite number")),
        };
    }
    let (l, r) = (to_text(l), to_text(r));
    capped(l.len() + r.len())?;
    Ok(Value::String(format!("{l}{r}")))
}

/// Text an expression builds may not outgrow this, so that a document (or a caller's body fed
/// through one) cannot make a run take unbounded memory by doubling a value step by step.
/// It leaves room for the largest body (`--max-payload`, 4 MiB by default) in base64.
pub const MAX_VALUE_BYTES: usize = 8 << 20;

fn capped(len: usize) -> Result<(), EvalError> {
    if len > MAX_VALUE_BYTES {
        return fail(format!(
            "the value would be {len} bytes, over the limit of {MAX_VALUE_BYTES}"
        ));
    }
    Ok(())
}

fn call(func: Func, args: &[Cow<Value>], scope: &Scope) -> Result<Value, EvalError> {
    let arg = || args.first().map_or(&Value::Null, |a| &**a);
    match func {
        Func::FromBase64 => {
            let Value::String(s) = arg() else {
                return fail(format!(
                    "@convert.fromBase64 needs text, not {}",
                    type_name(arg())
                ));
            };
            let s = s.trim_end_matches('=');
            let bytes = B64_NO_PAD
                .decode(s)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
                .map_err(|e| EvalError(format!("@convert.fromBase64: not base64: {e}")))?;
            String::from_utf8(bytes).map(Value::String).map_err(|_| {
                EvalError("@convert.fromBase64: the decoded bytes are not UTF-8 text".into())
            })
        }
        Func::ToBase64 => {
            let text = to_text(arg());
            capped(text.len().div_ceil(3) * 4)?;
            Ok(Value::String(B64.encode(text.as_bytes())))
        }
        Func::ToJson => match arg() {
            Value::String(s) => serde_json::from_str(s)
                .map_err(|e| EvalError(format!("@convert.toJson: not JSON: {e}"))),
            other => Ok(other.clone()),
        },
        Func::ToLong => to_long(arg()).map(Value::from),
        Func::ToBoolean => to_boolean(arg()).map(Value::Bool),
        Func::Stringify => {
            let text = arg().to_string();
            capped(text.len())?;
            Ok(Value::String(text))
        }
        Func::Sha256 => {
            let digest = Sha256::digest(to_text(arg()).as_bytes());
            Ok(Value::String(
                digest.iter().map(|b| format!("{b:02x}")).collect(),
            ))
        }
        Func::Now => Ok(Value::String(rfc3339_ms(scope.now_ms))),
    }
}

fn to_long(v: &Value) -> Result<i64, EvalError> {
    let from_f64 = |f: f64| {
        let t = f.trunc();
        if t.is_finite() && t >= i64::MIN as f64 && t < i64::MAX as f64 {
            Ok(t as i64)
        } else {
            fail(format!("@convert.toLong: {f} is out of range"))
        }
    };
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => from_f64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Ok(i);
            }
            match t.parse::<f64>() {
                Ok(f)
                    if t.bytes()
                        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
                {
                    from_f64(f)
                }
                _ => fail(format!("@convert.toLong: {s:?} is not a number")),
            }
        }
        other => fail(format!(
            "@convert.toLong: cannot convert {}",
            type_name(other)
        )),
    }
}

fn to_boolean(v: &Value) -> Result<bool, EvalError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            _ => fail(format!("@convert.toBoolean: {s:?} is not a boolean")),
        },
        other => fail(format!(
            "@convert.toBoolean: cannot convert {}",
            type_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope_values() -> (Value, Value, Value) {
        let body = json!({
            "origin": "eyJsZWFkIjoiQUNNRSIsInNjb3JlIjo5MH0=",
            "payload": {"origin": "eyJsZWFkIjoiQUNNRSIsInNjb3JlIjo5MH0="},
            "headers": {"content-type": "application/json", "x-a-b": "dash"},
            "list": [10, 20, 30],
            "n": 0,
            "text": "#{@hash.sha256('x')}",
            "none": null,
        });
        (
            body,
            json!({"count": 2, "name": "x"}),
            json!({"description": "d"}),
        )
    }

    fn eval(src: &str) -> Result<Value, String> {
        let (body, vars, headers) = scope_values();
        let scope = Scope {
            body: &body,
            vars: &vars,
            headers: &headers,
            now_ms: 1_795_878_001_234,
        };
        let t = Template::parse(src).map_err(|e| format!("parse: {e}"))?;
        t.eval(&scope).map_err(|e| format!("eval: {e}"))
    }

    fn ok(src: &str) -> Value {
        eval(src).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn parse_err(src: &str) -> ParseError {
        match Template::parse(src) {
            Err(e) => e,
            Ok(t) => panic!("{src} parsed as {t:?}"),
        }
    }

    #[test]
    fn templates() {
        assert_eq!(ok("plain text"), json!("plain text"));
        assert_eq!(ok(""), json!(""));
        assert_eq!(ok("#{vars.count}"), json!(2));
        assert_eq!(ok("#{body.list}"), json!([10, 20, 30]));
        assert_eq!(ok("n=#{vars.count}!"), json!("n=2!"));
        assert_eq!(ok("#{vars.count}#{vars.name}"), json!("2x"));
        assert_eq!(ok("l=#{body.list}"), json!("l=[10,20,30]"));
        assert_eq!(ok("[#{body.none}]"), json!("[]"));
        assert_eq!(ok("#{ vars.name }"), json!("x"));
        assert!(Template::parse("no expr").unwrap().is_text());
        // A lone `#` or `{` is text.
        assert_eq!(ok("# {a} #"), json!("# {a} #"));
    }

    #[test]
    fn precedence() {
        assert_eq!(ok("#{1 + 2 == 3 and true}"), json!(true));
        assert_eq!(ok("#{true or false and false}"), json!(true));
        assert_eq!(ok("#{(true or false) and false}"), json!(false));
        assert_eq!(ok("#{!false == true}"), json!(true));
        assert_eq!(ok("#{not vars.count == 2}"), json!(false));
        assert_eq!(ok("#{true ? 1 : 2 + 3}"), json!(1));
        assert_eq!(ok("#{false ? 1 : 2 + 3}"), json!(5));
        assert_eq!(ok("#{false ? 1 : true ? 2 : 3}"), json!(2));
        assert_eq!(ok("#{vars.count > 1 ? 'many' : 'one'}"), json!("many"));
        assert_eq!(ok("#{'a' + 1 + 2}"), json!("a12"));
        assert_eq!(ok("#{1 + 2 + 'a'}"), json!("3a"));
        assert_eq!(ok("#{-vars.count + 5}"), json!(3));
        assert_eq!(ok("#{1 < 2 && 2 <= 2 || false}"), json!(true));
        assert_eq!(ok("#{1.5 + 1}"), json!(2.5));
        assert_eq!(ok("#{1e3 >= 1000}"), json!(true));
    }

    #[test]
    fn comparisons() {
        assert_eq!(ok("#{1 == 1.0}"), json!(true));
        assert_eq!(ok("#{'a' != 'b'}"), json!(true));
        assert_eq!(ok("#{'abc' < 'abd'}"), json!(true));
        assert_eq!(ok("#{body.none == null}"), json!(true));
        assert_eq!(ok("#{body.list == body.list}"), json!(true));
        assert!(eval("#{1 < 'a'}").unwrap_err().contains("cannot order"));
        assert!(parse_err("#{1 < 2 < 3}").message.contains("chained"));
    }

    #[test]
    fn truthiness_and_short_circuit() {
        assert_eq!(ok("#{!body.n}"), json!(true));
        assert_eq!(ok("#{!''}"), json!(true));
        assert_eq!(ok("#{!body.list}"), json!(false));
        assert_eq!(ok("#{body.list and 'x'}"), json!(true));
        // The right side is not evaluated, so its error does not happen.
        assert_eq!(ok("#{false and body.none.x}"), json!(false));
        assert_eq!(ok("#{true or body.none.x}"), json!(true));
    }

    #[test]
    fn quoting() {
        assert_eq!(ok("#{'it''s'}"), json!("it's"));
        assert_eq!(ok(r#"#{"say ""hi"""}"#), json!("say \"hi\""));
        assert_eq!(ok("#{'}'}"), json!("}"));
        assert_eq!(ok("#{'#{vars.name}'}"), json!("#{vars.name}"));
        assert_eq!(ok("a #{'b'} c"), json!("a b c"));
        assert_eq!(
            ok("#{body.headers['content-type']}"),
            json!("application/json")
        );
        assert_eq!(ok("#{body[\"headers\"][\"x-a-b\"]}"), json!("dash"));
        assert!(parse_err("#{'open}").message.contains("never closed"));
    }

    #[test]
    fn navigation() {
        assert_eq!(ok("#{body.missing}"), json!(null));
        assert_eq!(ok("#{body.list[1]}"), json!(20));
        assert_eq!(ok("#{body.list[-1]}"), json!(30));
        assert_eq!(ok("#{body.list[9]}"), json!(null));
        assert_eq!(ok("#{body.missing?.x}"), json!(null));
        assert_eq!(ok("#{body?.payload?.origin}"), ok("#{body.origin}"));
        let e = eval("#{body.missing.x}").unwrap_err();
        assert!(
            e.contains("cannot read `x` of null") && e.contains("?."),
            "{e}"
        );
        assert!(eval("#{body.n.x}").unwrap_err().contains("of a number"));
        assert!(
            eval("#{body.list[0.5]}")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            eval("#{body.origin[0]}")
                .unwrap_err()
                .contains("cannot index text")
        );
    }

    #[test]
    fn matches_is_a_whole_match_on_a_literal_pattern() {
        assert_eq!(ok("#{'abc' matches 'a.c'}"), json!(true));
        assert_eq!(ok("#{'xabc' matches 'a.c'}"), json!(false));
        assert_eq!(ok("#{'a|b' matches 'a\\|b'}"), json!(true));
        assert_eq!(ok("#{body.none matches '.*'}"), json!(false));
        assert!(
            parse_err("#{'a' matches vars.name}")
                .message
                .contains("text literal")
        );
        assert!(
            parse_err("#{'a' matches '('}")
                .message
                .contains("regular expression")
        );
        let long = format!("#{{'a' matches '{}'}}", "a".repeat(MAX_PATTERN_LEN + 1));
        assert!(parse_err(&long).message.contains("longer"));
        // A pattern whose compiled form is huge is refused, not built.
        assert!(
            parse_err("#{'a' matches '\\w{1000}{1000}'}")
                .message
                .contains("regular expression")
        );
    }

    #[test]
    fn parse_errors_say_where() {
        let e = parse_err("ab #{foo}");
        assert_eq!(e.offset, 5);
        assert!(e.message.contains("unknown name `foo`"), "{}", e.message);
        let e = parse_err("#{@nope.x()}");
        assert_eq!(e.offset, 2);
        assert!(e.message.contains("unknown utility @nope.x"));
        assert!(
            parse_err("#{@convert.toJson()}")
                .message
                .contains("takes 1 argument")
        );
        assert!(
            parse_err("#{@date.now(1)}")
                .message
                .contains("takes 0 arguments")
        );
        assert!(parse_err("x #{body").message.contains("never closed"));
        assert_eq!(parse_err("x #{body").offset, 2);
        assert!(parse_err("#{}").message.contains("empty"));
        assert!(parse_err("#{a = b}").message.contains("=="));
        assert!(
            parse_err("#{body body}")
                .message
                .contains("after the expression")
        );
        assert!(parse_err("#{body.}").message.contains("name after"));
        assert!(parse_err("#{(1}").message.contains("expected `)`"));
        assert!(parse_err("#{1 ? 2}").message.contains("`:`"));
        assert!(
            parse_err("#{99999999999999999999}")
                .message
                .contains("number")
        );
        assert!(parse_err("#{$}").message.contains("unexpected character"));
        assert!(
            parse_err("#{true ? 1 :}")
                .message
                .contains("ends too early")
        );
    }

    #[test]
    fn hostile_nesting_is_refused_without_overflow() {
        let n = 100_000;
        for src in [
            format!("#{{{}1{}}}", "(".repeat(n), ")".repeat(n)),
            format!("#{{{}true}}", "!".repeat(n)),
            format!("#{{{}1}}", "-".repeat(n)),
            format!("#{{body{}}}", ".a".repeat(n)),
            format!("#{{1{}}}", " + 1".repeat(n)),
            format!("#{{{}1{}}}", "body[".repeat(n), "]".repeat(n)),
            format!("#{{{}1}}", "true ? 1 : ".repeat(n)),
            format!("#{{{}1{}}}", "@json.stringify(".repeat(n), ")".repeat(n)),
        ] {
            let e = parse_err(&src);
            assert!(e.message.contains("nested deeper"), "{}", e.message);
        }
        // Just inside the limit still works.
        let d = MAX_DEPTH - 2;
        assert_eq!(
            ok(&format!("#{{{}1{}}}", "(".repeat(d), ")".repeat(d))),
            json!(1)
        );
    }

    #[test]
    fn data_is_never_code() {
        // The body holds text that looks like an expression; it comes out verbatim.
        assert_eq!(ok("#{body.text}"), json!("#{@hash.sha256('x')}"));
        assert_eq!(ok("got #{body.text}"), json!("got #{@hash.sha256('x')}"));
        assert_eq!(
            ok("#{@convert.toJson('{\"a\":\"#{vars.name}\"}')}"),
            json!({"a": "#{vars.name}"})
        );
    }

    #[test]
    fn utilities() {
        assert_eq!(
            ok("#{@convert.fromBase64(body.origin)}"),
            json!(r#"{"lead":"ACME","score":90}"#)
        );
        assert_eq!(ok("#{@convert.fromBase64('aGk')}"), json!("hi"));
        assert_eq!(ok("#{@convert.fromBase64('fn5-')}"), json!("~~~"));
        assert!(
            eval("#{@convert.fromBase64('!!')}")
                .unwrap_err()
                .contains("not base64")
        );
        assert!(
            eval("#{@convert.fromBase64('/w==')}")
                .unwrap_err()
                .contains("UTF-8")
        );
        assert!(
            eval("#{@convert.fromBase64(1)}")
                .unwrap_err()
                .contains("needs text")
        );
        assert_eq!(ok("#{@convert.toBase64('hi')}"), json!("aGk="));
        assert_eq!(
            ok("#{@convert.toJson(@convert.fromBase64(body.origin)).score}"),
            json!(90)
        );
        assert_eq!(ok("#{@convert.toJson(body.list)}"), json!([10, 20, 30]));
        assert!(
            eval("#{@convert.toJson('{')}")
                .unwrap_err()
                .contains("not JSON")
        );
        assert_eq!(ok("#{@convert.toLong('42')}"), json!(42));
        assert_eq!(ok("#{@convert.toLong(' -7 ')}"), json!(-7));
        assert_eq!(ok("#{@convert.toLong(3.9)}"), json!(3));
        assert_eq!(ok("#{@convert.toLong('2.5')}"), json!(2));
        assert_eq!(ok("#{@convert.toLong(true)}"), json!(1));
        assert!(
            eval("#{@convert.toLong('x')}")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(eval("#{@convert.toLong('inf')}").is_err());
        assert!(
            eval("#{@convert.toLong(1e300)}")
                .unwrap_err()
                .contains("out of range")
        );
        assert_eq!(ok("#{@convert.toBoolean('TRUE')}"), json!(true));
        assert_eq!(ok("#{@convert.toBoolean('0')}"), json!(false));
        assert_eq!(ok("#{@convert.toBoolean(2)}"), json!(true));
        assert_eq!(ok("#{@convert.toBoolean(null)}"), json!(false));
        assert!(eval("#{@convert.toBoolean('maybe')}").is_err());
        assert_eq!(ok("#{@json.stringify(body.list)}"), json!("[10,20,30]"));
        assert_eq!(ok("#{@json.stringify('a')}"), json!("\"a\""));
        assert_eq!(
            ok("#{@hash.sha256('abc')}"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(ok("#{@date.now()}"), json!("2026-11-28T15:00:01.234Z"));
        assert_eq!(utility_names().count(), 8);
    }

    #[test]
    fn arithmetic_edges() {
        assert_eq!(
            ok("#{9223372036854775807 + 1}"),
            json!(9.223372036854776e18)
        );
        assert_eq!(ok("#{-9223372036854775807 + -1}"), json!(i64::MIN));
        assert!(eval("#{-'a'}").unwrap_err().contains("negate"));
        assert_eq!(ok("#{vars + ''}"), json!(r#"{"count":2,"name":"x"}"#));
    }
}

#[cfg(test)]
mod growth {
    use super::*;
    use serde_json::json;

    /// A value doubled step by step (as `var.set` with `#{vars.a}#{vars.a}` would do) stops
    /// at the cap with an error instead of taking the process's memory.
    #[test]
    fn values_cannot_grow_past_the_cap() {
        let (body, headers) = (json!({}), json!({}));
        let mut vars = json!({"a": "xxxxxxxx"});
        let templates = [
            "#{vars.a}#{vars.a}",
            "#{vars.a + vars.a}",
            "#{@convert.toBase64(vars.a)}#{vars.a}",
            "#{@json.stringify(vars.a)}#{vars.a}",
        ];
        for src in templates {
            vars = json!({"a": "xxxxxxxx"});
            let t = Template::parse(src).unwrap();
            let error = (0..24).find_map(|_| {
                let scope = Scope {
                    body: &body,
                    vars: &vars,
                    headers: &headers,
                    now_ms: 0,
                };
                match t.eval(&scope) {
                    Ok(v) => {
                        vars = json!({ "a": v });
                        None
                    }
                    Err(e) => Some(e),
                }
            });
            let error = error.unwrap_or_else(|| panic!("{src} grew without bound"));
            assert!(error.0.contains("over the limit"), "{src}: {error}");
            assert!(vars["a"].as_str().unwrap().len() <= MAX_VALUE_BYTES);
        }
    }
}
