//! The tree of a parsed Logs Insights query: a pipeline of commands, each
//! with its span, over expressions that keep their spans too.
//!
//! The shapes are chosen to lower directly onto a DataFusion logical plan:
//! `filter` → `Filter`, `fields`/`display` → `Projection`, `parse` → regex
//! extraction (a glob is turned into a regex by [`GlobPattern::regex_source`]),
//! `stats` → `Aggregate` (`bin(5m)` → `date_bin`), `sort` → `Sort`,
//! `limit` → `Limit`, `dedup` → a distinct-on. Function calls carry the
//! catalog's canonical name (`fromMillis`, whatever case the query used).
//!
//! `Display` prints a canonical s-expression form (one command per line)
//! that the data-driven tests compare against; it is not Insights syntax.

use std::fmt;

use super::functions::{self, FunctionSpec};

/// A half-open byte range `[start, end)` into the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// The text this span covers (empty if it is not a valid range of `text`).
    pub fn slice(self, text: &str) -> &str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// A parsed query: its commands in pipeline order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub commands: Vec<Command>,
}

impl Query {
    /// The number of `stats` commands (AWS allows at most two).
    pub fn stats_count(&self) -> usize {
        self.commands.iter().filter(|command| matches!(command.kind, CommandKind::Stats(_))).count()
    }

    /// The commands that Argus may not support yet: their canonical names,
    /// each once, in order (`SOURCE`, `diff`, `lookup`, …), for a caller
    /// that wants to refuse them with one message.
    pub fn command_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for command in &self.commands {
            let name = command.name();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

/// One pipeline stage and where it is in the query (from its keyword to
/// its last token).
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    pub span: Span,
}

impl Command {
    /// The command's canonical name (`where` is `filter`, `order` is
    /// `sort`, `head` is `limit`).
    pub fn name(&self) -> &str {
        match &self.kind {
            CommandKind::Fields(_) => "fields",
            CommandKind::Display(_) => "display",
            CommandKind::Filter(_) => "filter",
            CommandKind::FilterIndex(_) => "filterIndex",
            CommandKind::Stats(_) => "stats",
            CommandKind::Sort(_) => "sort",
            CommandKind::Limit { .. } => "limit",
            CommandKind::Parse(_) => "parse",
            CommandKind::Dedup(_) => "dedup",
            CommandKind::Unnest { .. } => "unnest",
            CommandKind::Pattern(_) => "pattern",
            CommandKind::Anomaly => "anomaly",
            CommandKind::Diff(_) => "diff",
            CommandKind::Unmask => "unmask",
            CommandKind::Source(_) => "SOURCE",
            CommandKind::Other { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    /// `fields e [as alias], …`
    Fields(Vec<Projection>),
    /// `display e [as alias], …` (the last `display` decides the output).
    Display(Vec<Projection>),
    /// `filter e` (also written `where e`).
    Filter(Expr),
    /// `filterIndex e`: a filter that may use field indexes.
    FilterIndex(Expr),
    Stats(Stats),
    /// `sort e [asc|desc], …` (also written `order`).
    Sort(Vec<SortKey>),
    /// `limit n` or `limit any n` (`any`: stop scanning once `n` rows are
    /// found, in no particular order). Also written `head n`.
    Limit { count: u64, any: bool },
    Parse(Parse),
    /// `dedup f, …`: keep the first row of each combination of values.
    Dedup(Vec<Expr>),
    /// `unnest field into alias`: one row per element of a list.
    Unnest { field: Expr, into: Ident },
    /// `pattern e`: cluster values into patterns.
    Pattern(Expr),
    /// `anomaly`: anomalies in the patterns of a preceding `pattern`.
    Anomaly,
    /// `diff [previousDay|previousWeek|previousMonth]`.
    Diff(DiffBaseline),
    /// `unmask`: show data-protection-masked content.
    Unmask,
    /// `SOURCE logGroups(…)` (CLI/API only).
    Source(Source),
    /// A documented command whose arguments are kept as text, not parsed
    /// (`lookup`, `join`, `addtotals`, …): the server refuses these as not
    /// supported, pointing at them.
    Other { name: String, args: String },
}

/// An expression with an optional `as` alias, and the expression's source
/// text (which names the result column when there is no alias, as AWS
/// names `count(*)` after its text).
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub expr: Expr,
    pub alias: Option<Ident>,
    pub text: String,
}

impl Projection {
    /// The name of the column this projection produces: the alias, else a
    /// plain field's name, else the expression's source text.
    pub fn output_name(&self) -> String {
        if let Some(alias) = &self.alias {
            return alias.name.clone();
        }
        match &self.expr.kind {
            ExprKind::Field(path) => path.name(),
            _ => self.text.clone(),
        }
    }
}

/// A name given with `as` (or `into`, or in `parse … as`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `stats aggregations [by groups] [offset period]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub aggregations: Vec<Projection>,
    pub by: Vec<Projection>,
    /// `offset 1h` after `by bin(…)`: shift the time bins.
    pub offset: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub order: SortOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// `parse [field] <mode>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parse {
    /// The field parsed; `@message` when the query names none.
    pub source: Expr,
    /// Whether the query named the field.
    pub explicit_source: bool,
    pub mode: ParseMode,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParseMode {
    /// `"a=*, b=*" as x, y`: one alias per `*`.
    Glob { pattern: GlobPattern, aliases: Vec<Ident> },
    /// `/…(?<name>…)…/ [multi]`: each named group becomes a field; `multi`
    /// makes one row per match.
    Regex { regex: RegexLiteral, fields: Vec<String>, multi: bool },
    /// `logfmt [as a, b]`: `key=value` pairs.
    Logfmt { aliases: Vec<Ident> },
    /// `csv [as a, b]`: comma-separated values.
    Csv { aliases: Vec<Ident> },
}

/// A glob pattern of `parse`: literal text and `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobPattern {
    pub parts: Vec<GlobPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobPart {
    Literal(String),
    Wildcard,
}

impl GlobPattern {
    pub fn from_text(text: &str) -> GlobPattern {
        let mut parts = Vec::new();
        for (index, piece) in text.split('*').enumerate() {
            if index > 0 {
                parts.push(GlobPart::Wildcard);
            }
            if !piece.is_empty() {
                parts.push(GlobPart::Literal(piece.to_string()));
            }
        }
        GlobPattern { parts }
    }

    pub fn wildcards(&self) -> usize {
        self.parts.iter().filter(|part| matches!(part, GlobPart::Wildcard)).count()
    }

    /// An equivalent regex: literals escaped, each `*` a lazy capture
    /// group `(.*?)`, unanchored (a glob matches anywhere in the value, as
    /// AWS's `parse @message "user=*, …"` examples show).
    pub fn regex_source(&self) -> String {
        let mut source = String::from("(?s)");
        let last_wildcard = self.parts.iter().rposition(|part| matches!(part, GlobPart::Wildcard));
        for (index, part) in self.parts.iter().enumerate() {
            match part {
                GlobPart::Literal(text) => source.push_str(&regex::escape(text)),
                // A trailing `*` takes the rest of the value; others stop at
                // the next literal.
                GlobPart::Wildcard if Some(index) == last_wildcard && index + 1 == self.parts.len() => source.push_str("(.*)"),
                GlobPart::Wildcard => source.push_str("(.*?)"),
            }
        }
        source
    }
}

impl fmt::Display for GlobPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                GlobPart::Literal(literal) => text.push_str(literal),
                GlobPart::Wildcard => text.push('*'),
            }
        }
        write_string(f, &text)
    }
}

/// A `/…/` regular expression as written (with `\/` turned into `/`);
/// the parser has checked that it compiles within the size limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexLiteral {
    pub pattern: String,
    pub span: Span,
}

/// The baseline period of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffBaseline {
    /// Bare `diff`: the equally long period just before the query's.
    Previous,
    PreviousDay,
    PreviousWeek,
    PreviousMonth,
}

impl DiffBaseline {
    pub fn keyword(self) -> &'static str {
        match self {
            DiffBaseline::Previous => "previous",
            DiffBaseline::PreviousDay => "previousDay",
            DiffBaseline::PreviousWeek => "previousWeek",
            DiffBaseline::PreviousMonth => "previousMonth",
        }
    }
}

/// The argument of `SOURCE`.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `logGroups(namePrefix: ['a'], accountIdentifiers: ['1'], class: ['STANDARD'])`:
    /// each selector with its list of string values.
    LogGroups(Vec<(Ident, Vec<String>)>),
    /// Any other form (`SOURCE lg start=-1d end=now`), kept as text.
    Other(String),
}

/// An expression and the span of its source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// The height of this tree (a leaf is 1), kept so that the parser can
    /// refuse trees too deep for the recursive passes over them.
    depth: usize,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        let depth = 1 + kind.children().map(|child| child.depth).max().unwrap_or(0);
        Expr { kind, span, depth }
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The function specification when this is a call.
    pub fn call_spec(&self) -> Option<&'static FunctionSpec> {
        match &self.kind {
            ExprKind::Call { name, .. } => functions::lookup(name),
            _ => None,
        }
    }

    /// Calls `f` on this expression and every sub-expression, parents
    /// first, left to right.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        for child in self.kind.children() {
            child.walk(f);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Field(FieldPath),
    /// The `*` of `count(*)`.
    Star,
    /// `[a, b, …]`, the right side of `in`.
    List(Vec<Expr>),
    Unary { op: UnaryOp, operand: Box<Expr> },
    Binary { op: BinaryOp, left: Box<Expr>, right: Box<Expr> },
    /// `e like p`, `e not like p`, `e =~ p`: `p` is a string (substring
    /// match) or a regex.
    Like { negated: bool, tilde: bool, expr: Box<Expr>, pattern: LikePattern },
    /// `e in set`, `e not in set`: `set` is a list or a field holding one.
    In { negated: bool, expr: Box<Expr>, set: Box<Expr> },
    /// A function call; `name` is the catalog's canonical spelling.
    Call { name: &'static str, args: Vec<Expr> },
}

impl ExprKind {
    /// The direct sub-expressions, left to right.
    pub fn children(&self) -> impl Iterator<Item = &Expr> {
        let (one, two, many): (Option<&Expr>, Option<&Expr>, &[Expr]) = match self {
            ExprKind::Literal(_) | ExprKind::Field(_) | ExprKind::Star => (None, None, &[]),
            ExprKind::List(items) | ExprKind::Call { args: items, .. } => (None, None, items),
            ExprKind::Unary { operand, .. } => (Some(operand.as_ref()), None, &[]),
            ExprKind::Binary { left, right, .. } => (Some(left.as_ref()), Some(right.as_ref()), &[]),
            ExprKind::Like { expr, .. } => (Some(expr.as_ref()), None, &[]),
            ExprKind::In { expr, set, .. } => (Some(expr.as_ref()), Some(set.as_ref()), &[]),
        };
        one.into_iter().chain(two).chain(many.iter())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LikePattern {
    Text(String),
    Regex(RegexLiteral),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Integer(i64),
    Float(f64),
    String(String),
    Bool(bool),
    /// A time period such as `5m` (arguments of `bin`, `datefloor`, …).
    Duration(Duration),
    /// A `/regex/` where the grammar allows an operand; only `like`, `=~`
    /// and `parse` accept one, which the checks enforce.
    Regex(RegexLiteral),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(self, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Pow)
    }
}

/// A field reference: `@timestamp`, `a.b.c` (a flattened JSON field, or
/// members of a `jsonParse` map), `` `foo-bar` ``, `` @`aws.tag.k:v` ``,
/// `list[1].name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub segments: Vec<PathSegment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A name; `quoted` when it was written in backticks.
    Key { name: String, quoted: bool },
    /// `[n]`: an element of a list.
    Index(u64),
}

impl FieldPath {
    pub fn single(name: &str) -> FieldPath {
        FieldPath { segments: vec![PathSegment::Key { name: name.to_string(), quoted: false }] }
    }

    /// The field's name as one string: keys joined with `.`, indexes as
    /// `[n]`, without backticks (`@message`, `a.b.c`, `foo-bar`,
    /// `users[1].action`). A flattened JSON field is stored under this name.
    pub fn name(&self) -> String {
        let mut name = String::new();
        for segment in &self.segments {
            match segment {
                PathSegment::Key { name: key, .. } => {
                    if !name.is_empty() {
                        name.push('.');
                    }
                    name.push_str(key);
                }
                PathSegment::Index(index) => {
                    name.push('[');
                    name.push_str(&index.to_string());
                    name.push(']');
                }
            }
        }
        name
    }

    /// The first key (the field a `jsonParse` map or list lives in).
    pub fn root(&self) -> &str {
        match self.segments.first() {
            Some(PathSegment::Key { name, .. }) => name,
            _ => "",
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                PathSegment::Key { name, .. } => {
                    if index > 0 {
                        f.write_str(".")?;
                    }
                    if needs_backticks(name, index == 0) {
                        // `@` stays outside the backticks (AWS's @`aws.tag.…` form).
                        let (at, rest) = split_at_signs(name);
                        write!(f, "{at}`{}`", rest.replace('`', "\\`"))?;
                    } else {
                        f.write_str(name)?;
                    }
                }
                PathSegment::Index(position) => write!(f, "[{position}]")?,
            }
        }
        Ok(())
    }
}

fn split_at_signs(name: &str) -> (&str, &str) {
    let at = name.len() - name.trim_start_matches('@').len();
    (name.get(..at).unwrap_or(""), name.get(at..).unwrap_or(name))
}

/// Whether a key must be written in backticks to be read back as one key.
fn needs_backticks(name: &str, first: bool) -> bool {
    let (at, rest) = split_at_signs(name);
    if !first && !at.is_empty() {
        return true;
    }
    rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || super::lexer::is_reserved(rest) && at.is_empty()
}

/// A time period: a whole number and a unit (`5m`, `1h`, `100ms`, `1mo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub amount: u64,
    pub unit: TimeUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimeUnit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl TimeUnit {
    /// The short spelling used in canonical output.
    pub fn abbreviation(self) -> &'static str {
        match self {
            TimeUnit::Millisecond => "ms",
            TimeUnit::Second => "s",
            TimeUnit::Minute => "m",
            TimeUnit::Hour => "h",
            TimeUnit::Day => "d",
            TimeUnit::Week => "w",
            TimeUnit::Month => "mo",
            TimeUnit::Quarter => "q",
            TimeUnit::Year => "y",
        }
    }

    /// Milliseconds in one unit; `None` for calendar units (month,
    /// quarter, year), whose length varies.
    pub fn fixed_millis(self) -> Option<u64> {
        match self {
            TimeUnit::Millisecond => Some(1),
            TimeUnit::Second => Some(1_000),
            TimeUnit::Minute => Some(60_000),
            TimeUnit::Hour => Some(3_600_000),
            TimeUnit::Day => Some(86_400_000),
            TimeUnit::Week => Some(604_800_000),
            TimeUnit::Month | TimeUnit::Quarter | TimeUnit::Year => None,
        }
    }

    /// The unit named by `word` (case-insensitive): AWS's list for `bin`,
    /// with a plural `s` on every spelling longer than one character (`hrs`,
    /// `mins`, `days`, …), as AWS's `bin` documentation allows.
    pub fn from_word(word: &str) -> Option<TimeUnit> {
        let lower = word.to_ascii_lowercase();
        let singular = match lower.strip_suffix('s') {
            Some(stem) if stem.len() > 1 => stem,
            _ => lower.as_str(),
        };
        let unit = match singular {
            "ms" | "msec" | "millisecond" => TimeUnit::Millisecond,
            "s" | "sec" | "second" => TimeUnit::Second,
            "m" | "min" | "minute" => TimeUnit::Minute,
            "h" | "hr" | "hour" => TimeUnit::Hour,
            "d" | "day" => TimeUnit::Day,
            "w" | "week" => TimeUnit::Week,
            "mo" | "mon" | "month" => TimeUnit::Month,
            "q" | "qtr" | "quarter" => TimeUnit::Quarter,
            "y" | "yr" | "year" => TimeUnit::Year,
            _ => return None,
        };
        Some(unit)
    }
}

impl Duration {
    /// The length in milliseconds, for units of fixed length.
    pub fn fixed_millis(self) -> Option<u64> {
        self.unit.fixed_millis().and_then(|unit| unit.checked_mul(self.amount))
    }

    /// The period AWS actually uses: "CloudWatch Logs caps your request
    /// according to the time unit" — at most 1000 ms, 60 s, 60 m, 24 h
    /// (`bin(300s)` is a 60-second bin). Other units are not capped.
    pub fn capped(self) -> Duration {
        let cap = match self.unit {
            TimeUnit::Millisecond => 1000,
            TimeUnit::Second | TimeUnit::Minute => 60,
            TimeUnit::Hour => 24,
            _ => u64::MAX,
        };
        Duration { amount: self.amount.min(cap), unit: self.unit }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.abbreviation())
    }
}

// ---- canonical s-expression output ----

fn write_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for RegexLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.pattern.replace('/', "\\/"))
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Integer(value) => write!(f, "{value}"),
            Literal::Float(value) => write!(f, "{value:?}"),
            Literal::String(text) => write_string(f, text),
            Literal::Bool(value) => write!(f, "{value}"),
            Literal::Duration(duration) => write!(f, "{duration}"),
            Literal::Regex(regex) => write!(f, "{regex}"),
        }
    }
}

impl fmt::Display for LikePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LikePattern::Text(text) => write_string(f, text),
            LikePattern::Regex(regex) => write!(f, "{regex}"),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(literal) => write!(f, "{literal}"),
            ExprKind::Field(path) => write!(f, "{path}"),
            ExprKind::Star => f.write_str("*"),
            ExprKind::List(items) => {
                f.write_str("(list")?;
                for item in items {
                    write!(f, " {item}")?;
                }
                f.write_str(")")
            }
            ExprKind::Unary { op: UnaryOp::Neg, operand } => write!(f, "(neg {operand})"),
            ExprKind::Unary { op: UnaryOp::Not, operand } => write!(f, "(not {operand})"),
            ExprKind::Binary { op, left, right } => write!(f, "({} {left} {right})", op.symbol()),
            ExprKind::Like { negated, tilde, expr, pattern } => {
                let op = match (negated, tilde) {
                    (_, true) => "=~",
                    (true, false) => "not-like",
                    (false, false) => "like",
                };
                write!(f, "({op} {expr} {pattern})")
            }
            ExprKind::In { negated, expr, set } => write!(f, "({} {expr} {set})", if *negated { "not-in" } else { "in" }),
            ExprKind::Call { name, args } => {
                write!(f, "({name}")?;
                for arg in args {
                    write!(f, " {arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.alias {
            Some(alias) => write!(f, "(as {} {})", self.expr, FieldPath::single(&alias.name)),
            None => write!(f, "{}", self.expr),
        }
    }
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, head: &str, items: &[T]) -> fmt::Result {
    write!(f, "({head}")?;
    for item in items {
        write!(f, " {item}")?;
    }
    f.write_str(")")
}

fn write_aliases(f: &mut fmt::Formatter<'_>, aliases: &[Ident]) -> fmt::Result {
    if aliases.is_empty() {
        return Ok(());
    }
    f.write_str(" (as")?;
    for alias in aliases {
        write!(f, " {}", FieldPath::single(&alias.name))?;
    }
    f.write_str(")")
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            CommandKind::Fields(items) => write_list(f, "fields", items),
            CommandKind::Display(items) => write_list(f, "display", items),
            CommandKind::Filter(expr) => write!(f, "(filter {expr})"),
            CommandKind::FilterIndex(expr) => write!(f, "(filterIndex {expr})"),
            CommandKind::Stats(stats) => {
                write_list(f, "stats", &stats.aggregations)?;
                if !stats.by.is_empty() {
                    f.write_str(" ")?;
                    write_list(f, "by", &stats.by)?;
                }
                if let Some(offset) = stats.offset {
                    write!(f, " (offset {offset})")?;
                }
                Ok(())
            }
            CommandKind::Sort(keys) => {
                f.write_str("(sort")?;
                for key in keys {
                    let order = if key.order == SortOrder::Asc { "asc" } else { "desc" };
                    write!(f, " ({order} {})", key.expr)?;
                }
                f.write_str(")")
            }
            CommandKind::Limit { count, any: true } => write!(f, "(limit any {count})"),
            CommandKind::Limit { count, any: false } => write!(f, "(limit {count})"),
            CommandKind::Parse(parse) => {
                write!(f, "(parse {}", parse.source)?;
                match &parse.mode {
                    ParseMode::Glob { pattern, aliases } => {
                        write!(f, " (glob {pattern})")?;
                        write_aliases(f, aliases)?;
                    }
                    ParseMode::Regex { regex, fields, multi } => {
                        write!(f, " (regex {regex})")?;
                        if *multi {
                            f.write_str(" multi")?;
                        }
                        f.write_str(" (as")?;
                        for field in fields {
                            write!(f, " {}", FieldPath::single(field))?;
                        }
                        f.write_str(")")?;
                    }
                    ParseMode::Logfmt { aliases } => {
                        f.write_str(" logfmt")?;
                        write_aliases(f, aliases)?;
                    }
                    ParseMode::Csv { aliases } => {
                        f.write_str(" csv")?;
                        write_aliases(f, aliases)?;
                    }
                }
                f.write_str(")")
            }
            CommandKind::Dedup(fields) => write_list(f, "dedup", fields),
            CommandKind::Unnest { field, into } => write!(f, "(unnest {field} (into {}))", FieldPath::single(&into.name)),
            CommandKind::Pattern(expr) => write!(f, "(pattern {expr})"),
            CommandKind::Anomaly => f.write_str("(anomaly)"),
            CommandKind::Diff(DiffBaseline::Previous) => f.write_str("(diff)"),
            CommandKind::Diff(baseline) => write!(f, "(diff {})", baseline.keyword()),
            CommandKind::Unmask => f.write_str("(unmask)"),
            CommandKind::Source(Source::LogGroups(selectors)) => {
                f.write_str("(SOURCE (logGroups")?;
                for (key, values) in selectors {
                    write!(f, " ({}", key.name)?;
                    for value in values {
                        f.write_str(" ")?;
                        write_string(f, value)?;
                    }
                    f.write_str(")")?;
                }
                f.write_str("))")
            }
            CommandKind::Source(Source::Other(text)) => {
                f.write_str("(SOURCE ")?;
                write_string(f, text)?;
                f.write_str(")")
            }
            CommandKind::Other { name, args } => {
                write!(f, "({name}")?;
                if !args.is_empty() {
                    f.write_str(" ")?;
                    write_string(f, args)?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, command) in self.commands.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{command}")?;
        }
        Ok(())
    }
}
