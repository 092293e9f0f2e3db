//! SCIM filters (RFC 7644 §3.4.2.2): parsed once into a [`Filter`] that the store translates
//! to SQL and that prints back to the same filter. Operators and the keywords `and`, `or`,
//! `not`, `pr`, `true`, `false`, `null` are case-insensitive; precedence is `not` > `and` >
//! `or`, and parentheses group. Attribute paths may carry their schema URI
//! (`urn:…:User:userName`) and one sub-attribute (`name.givenName`); a value path filters a
//! multi-valued attribute by its sub-attributes (`emails[type eq "work" and value co "@x"]`).

use std::fmt;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Most comparisons (and `pr` tests) one filter may hold.
pub const MAX_TERMS: usize = 64;
/// Deepest nesting of parentheses, `not` and value paths.
pub const MAX_DEPTH: usize = 16;

/// Why a filter was refused (SCIM `invalidFilter`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter: {0}")]
pub struct FilterError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(message.into()))
}

/// `[URI ":"] ATTRNAME ["." subAttr]`, as written (names compare case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URI, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub uri: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses one attribute path (also used for `sortBy` and `attributes`).
    ///
    /// # Errors
    /// Not an attribute path.
    pub fn parse(raw: &str) -> Result<Self, FilterError> {
        let (uri, rest) = match raw.rfind(':') {
            Some(i) if raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) => {
                (Some(raw[..i].to_owned()), &raw[i + 1..])
            }
            Some(_) => return err(format!("`{raw}` is not an attribute path")),
            None => (None, raw),
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (rest, None),
        };
        if !is_name(attr) || sub.is_some_and(|s| !is_name(s)) {
            return err(format!("`{raw}` is not an attribute path"));
        }
        Ok(Self {
            uri,
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }
}

/// `ALPHA *("-" / "_" / DIGIT / ALPHA)`; `$ref` too (a SCIM reference attribute).
fn is_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    const ALL: [(&'static str, Self); 9] = [
        ("eq", Self::Eq),
        ("ne", Self::Ne),
        ("co", Self::Co),
        ("sw", Self::Sw),
        ("ew", Self::Ew),
        ("gt", Self::Gt),
        ("ge", Self::Ge),
        ("lt", Self::Lt),
        ("le", Self::Le),
    ];

    fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| word.eq_ignore_ascii_case(name))
            .map(|(_, op)| *op)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("eq", |(name, _)| name)
    }

    /// `gt ge lt le`: an order, meaningless for booleans.
    #[must_use]
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }
}

/// `false / null / true / number / string`.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    /// A JSON number, kept as written.
    Number(String),
    Str(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => f.write_str(n),
            Self::Str(s) => f.write_str(&serde_json::Value::String(s.clone()).to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `path[filter]`: some value of multi-valued `path` matches `filter`, whose attribute
    /// names are `path`'s sub-attributes.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Parses a whole filter.
    ///
    /// # Errors
    /// [`FilterError`] naming what is wrong (too long, too deep, unknown operator, …).
    pub fn parse(raw: &str) -> Result<Self, FilterError> {
        if raw.len() > MAX_FILTER_LEN {
            return err(format!("longer than {MAX_FILTER_LEN} bytes"));
        }
        let tokens = lex(raw)?;
        let mut parser = Parser {
            tokens,
            at: 0,
            terms: 0,
        };
        let filter = parser.or(0, false)?;
        match parser.peek() {
            None => Ok(filter),
            Some(t) => err(format!("unexpected {t} after the filter")),
        }
    }
}

/// Prints the filter so that parsing it again gives the same [`Filter`].
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Self::Present(path) => write!(f, "{path} pr"),
            Self::And(l, r) => {
                // Left-associative: only a left `or` and a right compound need parentheses.
                write_grouped(f, l, matches!(**l, Self::Or(..)))?;
                f.write_str(" and ")?;
                write_grouped(f, r, matches!(**r, Self::Or(..) | Self::And(..)))
            }
            Self::Or(l, r) => {
                write_grouped(f, l, false)?;
                f.write_str(" or ")?;
                write_grouped(f, r, matches!(**r, Self::Or(..)))
            }
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_grouped(f: &mut fmt::Formatter<'_>, filter: &Filter, group: bool) -> fmt::Result {
    if group {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    Word(String),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open => f.write_str("`(`"),
            Self::Close => f.write_str("`)`"),
            Self::OpenBracket => f.write_str("`[`"),
            Self::CloseBracket => f.write_str("`]`"),
            Self::Str(s) => write!(f, "string {}", CompValue::Str(s.clone())),
            Self::Word(w) => write!(f, "`{w}`"),
        }
    }
}

fn lex(raw: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = raw.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut escaped = false;
                let end = loop {
                    match chars.next() {
                        None => return err("a string is not closed"),
                        Some((_, '\\')) if !escaped => escaped = true,
                        Some((i, '"')) if !escaped => break i,
                        Some(_) => escaped = false,
                    }
                };
                let text: String = serde_json::from_str(&raw[start..=end])
                    .map_err(|_| FilterError(format!("bad string {}", &raw[start..=end])))?;
                if text.contains('\0') {
                    return err("a string contains a NUL character");
                }
                tokens.push(Token::Str(text));
            }
            _ => {
                let mut end = raw.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(raw[start..end].to_owned()));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, depth: usize, inner: bool) -> Result<Filter, FilterError> {
        let mut left = self.and(depth, inner)?;
        while self.keyword("or") {
            self.at += 1;
            let right = self.and(depth, inner)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize, inner: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(depth, inner)?;
        while self.keyword("and") {
            self.at += 1;
            let right = self.unary(depth, inner)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `not (…)`, `(…)`, a value path or an attribute expression. `inner`: inside a value
    /// path's brackets, where another value path may not start.
    fn unary(&mut self, depth: usize, inner: bool) -> Result<Filter, FilterError> {
        if depth >= MAX_DEPTH {
            return err(format!("nested deeper than {MAX_DEPTH}"));
        }
        if self.keyword("not") {
            self.at += 1;
            if self.next() != Some(Token::Open) {
                return err("`not` must be followed by `(`");
            }
            let inside = self.or(depth + 1, inner)?;
            self.close(Token::Close)?;
            return Ok(Filter::Not(Box::new(inside)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inside = self.or(depth + 1, inner)?;
                self.close(Token::Close)?;
                Ok(inside)
            }
            Some(Token::Word(word)) => {
                let path = AttrPath::parse(&word)?;
                if self.peek() == Some(&Token::OpenBracket) {
                    if inner || path.sub.is_some() {
                        return err(format!("`{word}[` cannot start a value filter here"));
                    }
                    self.at += 1;
                    let filter = self.or(depth + 1, true)?;
                    self.close(Token::CloseBracket)?;
                    return Ok(Filter::ValuePath {
                        path,
                        filter: Box::new(filter),
                    });
                }
                self.attribute_expression(path)
            }
            Some(t) => err(format!("expected an attribute, found {t}")),
            None => err("the filter ends too early"),
        }
    }

    fn attribute_expression(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return err(format!("more than {MAX_TERMS} comparisons"));
        }
        let Some(Token::Word(op)) = self.next() else {
            return err(format!("`{path}` must be followed by an operator"));
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op =
            CompareOp::parse(&op).ok_or_else(|| FilterError(format!("unknown operator `{op}`")))?;
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::Str(s),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Some(Token::Word(w)) if is_number(&w) => CompValue::Number(w),
            Some(t) => return err(format!("`{path} {}` needs a value, found {t}", op.as_str())),
            None => return err(format!("`{path} {}` needs a value", op.as_str())),
        };
        Ok(Filter::Compare { path, op, value })
    }

    fn close(&mut self, expected: Token) -> Result<(), FilterError> {
        match self.next() {
            Some(t) if t == expected => Ok(()),
            Some(t) => err(format!("expected {expected}, found {t}")),
            None => err(format!("expected {expected}")),
        }
    }
}

/// A JSON number (`-1`, `2.5`, `1e3`).
fn is_number(word: &str) -> bool {
    word.starts_with(|c: char| c == '-' || c.is_ascii_digit())
        && matches!(
            serde_json::from_str::<serde_json::Value>(word),
            Ok(serde_json::Value::Number(_))
        )
}

#[cfg(test)]
mod tests;
