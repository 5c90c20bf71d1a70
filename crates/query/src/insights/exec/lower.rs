//! Lowering: a checked [`Query`] → a DataFusion [`DataFrame`] over the
//! events table, plus how to turn its rows into Insights result rows.
//!
//! Columns the query defines get internal names (`f0`, `f1`, …); the
//! Insights names live in [`Env`]. Values carry one of four [`Kind`]s —
//! strings, numbers (double), conditions, timestamps — and are converted
//! where an operator needs another (Insights is loosely typed: a string
//! that reads as a number is one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::DataType;
use datafusion::common::{Column, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, Operator, ScalarUDF, SortExpr, lit};

use super::udf::{self, Out, RowFunction, ToNumber, ToText, library, time};
use super::{ExecError, RunOptions, fields};
use crate::insights::{
    BinaryOp, CommandKind, Duration, Expr as QExpr, ExprKind, FieldPath, FunctionClass, LikePattern, Literal, ParseMode, PathSegment, Projection, Query, SortOrder, Stats, TimeUnit, UnaryOp,
};

/// The kind of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Num,
    Bool,
    Time,
}

/// The table's columns.
pub(crate) const TIMESTAMP: &str = "timestamp";
pub(crate) const INGESTION_TIME: &str = "ingestion_time";
pub(crate) const EVENT_ID: &str = "event_id";
pub(crate) const LOG_STREAM: &str = "log_stream";
pub(crate) const MESSAGE: &str = "message";
pub(crate) const LOG: &str = "log";

/// System fields: Insights name → column and kind.
fn system_field(name: &str) -> Option<(&'static str, Kind)> {
    Some(match name {
        "@timestamp" => (TIMESTAMP, Kind::Time),
        "@message" => (MESSAGE, Kind::Str),
        "@logStream" => (LOG_STREAM, Kind::Str),
        "@log" => (LOG, Kind::Str),
        "@ingestionTime" => (INGESTION_TIME, Kind::Time),
        _ => return None,
    })
}

pub(crate) fn column(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

/// How the rows of the lowered plan become result rows.
#[derive(Debug)]
pub(crate) struct Output {
    /// `(field name, column)` in result order.
    pub columns: Vec<(String, String)>,
    /// Rows are events shown with the default fields: `@timestamp`,
    /// `@message`, `@logStream`, `@log`, the event's JSON fields, then
    /// `columns`.
    pub default_fields: bool,
    /// Rows are single events: `@ptr` is appended.
    pub ptr: bool,
    /// `dedup`: the columns whose combination must be new.
    pub dedup: Option<Vec<String>>,
    /// Result rows at most.
    pub limit: usize,
}

#[derive(Debug, Clone)]
struct Defined {
    name: String,
    column: String,
    kind: Kind,
}

/// What the next command sees.
#[derive(Debug, Default)]
struct Env {
    defined: Vec<Defined>,
    /// No `stats` yet: rows are events (system and discovered fields exist).
    events: bool,
    /// Field names listed for output by `fields`, `parse`, `stats`,
    /// `unnest`; `None`: the default fields.
    output: Option<Vec<String>>,
    /// Fields added to the default output (by `parse`, `unnest`).
    extra: Vec<String>,
    display: Option<Vec<String>>,
    /// The current row order as sort keys (empty: unordered).
    order: Vec<SortExpr>,
}

impl Env {
    fn find(&self, name: &str) -> Option<&Defined> {
        self.defined.iter().rev().find(|defined| defined.name == name)
    }

    fn define(&mut self, name: &str, column: String, kind: Kind) {
        self.defined.push(Defined { name: name.to_string(), column, kind });
    }
}

fn list_push(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|existing| existing == name) {
        list.push(name.to_string());
    }
}

/// Where an expression is lowered.
enum Ctx<'a> {
    Row,
    /// The aggregation list of a `stats`: aggregate calls become
    /// `aggregates`, names refer to earlier items (`locals`).
    Stats {
        aggregates: &'a mut Vec<Expr>,
        locals: &'a HashMap<String, (Expr, Kind)>,
    },
}

pub(crate) struct Lowerer<'o> {
    options: &'o RunOptions,
    /// Discovered field names (flattened), shared with the extractor UDF.
    discovered: Arc<Mutex<Vec<String>>>,
    extractor: Arc<ScalarUDF>,
    env: Env,
    counter: usize,
    /// The columns of the current frame.
    columns: Vec<String>,
    df: Option<DataFrame>,
    /// The frame's last operation is a sort (or a limit after one): its
    /// rows are in `env.order`. DataFusion keeps an order only up to the
    /// next operator, so a later `limit`, `dedup` or the end sorts again.
    sorted: bool,
}

fn unsupported(what: impl Into<String>) -> ExecError {
    ExecError::Unsupported(what.into())
}

impl<'o> Lowerer<'o> {
    pub(crate) fn new(df: DataFrame, options: &'o RunOptions) -> Lowerer<'o> {
        let discovered = Arc::new(Mutex::new(Vec::new()));
        let extractor = Arc::new(ScalarUDF::new_from_impl(udf::extract::FieldExtractor::new(Arc::clone(&discovered))));
        let columns = df.schema().fields().iter().map(|field| field.name().clone()).collect();
        Lowerer { options, discovered, extractor, env: Env { events: true, ..Env::default() }, counter: 0, columns, df: Some(df), sorted: false }
    }

    fn frame(&mut self) -> Result<DataFrame, ExecError> {
        self.df.take().ok_or_else(|| ExecError::Internal("no frame".into()))
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// Adds columns computed from the current ones.
    fn add_columns(&mut self, exprs: Vec<(String, Expr)>) -> Result<(), ExecError> {
        if exprs.is_empty() {
            return Ok(());
        }
        let df = self.frame()?;
        let mut select: Vec<Expr> = self.columns.iter().filter(|name| !exprs.iter().any(|(new, _)| new == *name)).map(|name| column(name)).collect();
        for (name, expr) in &exprs {
            select.push(expr.clone().alias(name));
        }
        self.df = Some(df.select(select)?);
        self.columns = self.df.as_ref().map(|df| df.schema().fields().iter().map(|field| field.name().clone()).collect()).unwrap_or_default();
        Ok(())
    }

    pub(crate) fn lower(mut self, query: &Query) -> Result<(DataFrame, Output), ExecError> {
        // The time range is applied by the scan (`scan.rs`).
        let mut dedup: Option<Vec<String>> = None;
        let mut post_limit: Option<usize> = None;
        for command in &query.commands {
            if dedup.is_some() {
                if let CommandKind::Limit { count, .. } = command.kind {
                    post_limit = Some(post_limit.map_or(clamp(count), |limit| limit.min(clamp(count))));
                    continue;
                }
                return Err(unsupported(format!("{} after dedup", command.name())));
            }
            if !matches!(command.kind, CommandKind::Limit { .. }) {
                self.sorted = false;
            }
            match &command.kind {
                CommandKind::Fields(items) => self.fields(items, false)?,
                CommandKind::Display(items) => self.fields(items, true)?,
                CommandKind::Filter(expr) | CommandKind::FilterIndex(expr) => {
                    let (predicate, kind) = self.expr(expr, &mut Ctx::Row)?;
                    let predicate = truthy(predicate, kind);
                    let df = self.frame()?;
                    self.df = Some(df.filter(predicate)?);
                }
                CommandKind::Stats(stats) => self.stats(stats)?,
                CommandKind::Sort(keys) => {
                    let mut order = Vec::new();
                    for key in keys {
                        let (expr, kind) = self.expr(&key.expr, &mut Ctx::Row)?;
                        order.extend(sort_keys(expr, kind, key.order == SortOrder::Asc));
                    }
                    let previous = std::mem::take(&mut self.env.order);
                    let base = if previous.is_empty() { self.default_order() } else { previous };
                    order.extend(base);
                    self.sort(order)?;
                }
                CommandKind::Limit { count, .. } => {
                    self.ensure_order()?;
                    let df = self.frame()?;
                    self.df = Some(df.limit(0, Some(clamp(*count)))?);
                }
                CommandKind::Parse(parse) => self.parse(parse)?,
                CommandKind::Dedup(items) => {
                    self.ensure_order()?;
                    let mut columns = Vec::new();
                    let mut exprs = Vec::new();
                    for item in items {
                        let (expr, kind) = self.expr(item, &mut Ctx::Row)?;
                        let name = self.fresh("d");
                        exprs.push((name.clone(), text(expr, kind)));
                        columns.push(name);
                    }
                    self.add_columns(exprs)?;
                    dedup = Some(columns);
                }
                CommandKind::Unnest { field, into } => {
                    let (expr, kind) = self.expr(field, &mut Ctx::Row)?;
                    let name = self.fresh("u");
                    self.add_columns(vec![(name.clone(), Arc::new(time::ListItems::udf()).call(vec![text(expr, kind)]))])?;
                    self.unnest(std::slice::from_ref(&name))?;
                    self.env.define(&into.name, name, Kind::Str);
                    self.list_output(&into.name);
                }
                CommandKind::Pattern(expr) => self.pattern(expr)?,
                CommandKind::Anomaly => return Err(unsupported("the anomaly command")),
                CommandKind::Diff(_) => return Err(unsupported("the diff command")),
                CommandKind::Unmask => return Err(unsupported("the unmask command")),
                CommandKind::Source(_) => return Err(unsupported("SOURCE (choose log groups with the logGroupNames parameter)")),
                CommandKind::Other { name, .. } => return Err(unsupported(format!("the {name} command"))),
            }
        }
        self.ensure_order()?;
        let limit = self.options.limit.min(post_limit.unwrap_or(usize::MAX));
        if dedup.is_none() {
            let df = self.frame()?;
            self.df = Some(df.limit(0, Some(limit))?);
        }
        self.finish(dedup, limit)
    }

    /// The order rows have before any `sort`: events newest first (the
    /// order Insights' `dedup` documents), `stats` rows by their groups.
    fn default_order(&self) -> Vec<SortExpr> {
        if self.env.events { vec![column(TIMESTAMP).sort(false, false), column(EVENT_ID).sort(false, false)] } else { Vec::new() }
    }

    fn ensure_order(&mut self) -> Result<(), ExecError> {
        if self.sorted {
            return Ok(());
        }
        let order = if self.env.order.is_empty() { self.default_order() } else { self.env.order.clone() };
        if !order.is_empty() {
            self.sort(order)?;
        }
        Ok(())
    }

    fn sort(&mut self, order: Vec<SortExpr>) -> Result<(), ExecError> {
        let df = self.frame()?;
        self.df = Some(df.sort(order.clone())?);
        self.env.order = order;
        self.sorted = true;
        Ok(())
    }

    fn list_output(&mut self, name: &str) {
        match &mut self.env.output {
            Some(list) => list_push(list, name),
            None => list_push(&mut self.env.extra, name),
        }
    }

    fn fields(&mut self, items: &[Projection], display: bool) -> Result<(), ExecError> {
        let mut names = Vec::new();
        // One item at a time: a later item may use an earlier one's alias.
        for item in items {
            let (expr, kind) = self.expr(&item.expr, &mut Ctx::Row)?;
            let column_name = self.fresh("f");
            self.add_columns(vec![(column_name.clone(), expr)])?;
            let name = item.output_name();
            self.env.define(&name, column_name, kind);
            list_push(&mut names, &name);
        }
        if display {
            self.env.display = Some(names);
        } else {
            let list = self.env.output.get_or_insert_with(Vec::new);
            for name in &names {
                list_push(list, name);
            }
        }
        Ok(())
    }

    fn parse(&mut self, parse: &crate::insights::Parse) -> Result<(), ExecError> {
        let (source, kind) = self.expr(&parse.source, &mut Ctx::Row)?;
        let source = text(source, kind);
        let (pattern, outputs, multi): (String, Vec<(String, usize)>, bool) = match &parse.mode {
            ParseMode::Glob { pattern, aliases } => (pattern.regex_source(), aliases.iter().enumerate().map(|(index, alias)| (alias.name.clone(), index + 1)).collect(), false),
            ParseMode::Regex { regex, fields, multi } => {
                let compiled = regex::Regex::new(&regex.pattern).map_err(|error| ExecError::Internal(error.to_string()))?;
                let names: Vec<Option<&str>> = compiled.capture_names().collect();
                let outputs = fields.iter().filter_map(|field| names.iter().position(|name| *name == Some(field.as_str())).map(|group| (field.clone(), group))).collect();
                (regex.pattern.clone(), outputs, *multi)
            }
            ParseMode::Logfmt { aliases } | ParseMode::Csv { aliases } => {
                let logfmt = matches!(parse.mode, ParseMode::Logfmt { .. });
                if aliases.is_empty() {
                    return Err(unsupported(format!("parse … {} without as (name the fields)", if logfmt { "logfmt" } else { "csv" })));
                }
                let (function, eval) = if logfmt { ("logfmt", library::logfmt as library::Eval) } else { ("csv", library::csv as library::Eval) };
                let mut exprs = Vec::new();
                let mut defined = Vec::new();
                for (index, alias) in aliases.iter().enumerate() {
                    let column_name = self.fresh("p");
                    // logfmt: the value of key `alias`; csv: column `index`.
                    #[expect(clippy::cast_precision_loss)]
                    let selector = if logfmt { lit(alias.name.clone()) } else { lit(index as f64) };
                    exprs.push((column_name.clone(), RowFunction::udf(function, Out::Str, eval).call(vec![source.clone(), selector])));
                    defined.push((alias.name.clone(), column_name));
                }
                self.add_columns(exprs)?;
                for (name, column) in defined {
                    self.env.define(&name, column, Kind::Str);
                    self.list_output(&name);
                }
                return Ok(());
            }
        };
        let regex = regex::RegexBuilder::new(&pattern).size_limit(crate::insights::MAX_REGEX_SIZE).build().map_err(|error| ExecError::Internal(error.to_string()))?;
        let parser = Arc::new(ScalarUDF::new_from_impl(udf::parse::ParseRegex::new(regex, outputs.iter().map(|(_, group)| *group).collect(), multi)));
        let mut exprs = Vec::new();
        let mut defined = Vec::new();
        for (index, (name, _)) in outputs.iter().enumerate() {
            let column_name = self.fresh("p");
            let index = i64::try_from(index).unwrap_or(0);
            exprs.push((column_name.clone(), parser.call(vec![source.clone(), lit(index)])));
            defined.push((name.clone(), column_name));
        }
        self.add_columns(exprs)?;
        if multi {
            let names: Vec<String> = defined.iter().map(|(_, column)| column.clone()).collect();
            self.unnest(&names)?;
        }
        for (name, column) in defined {
            self.env.define(&name, column, Kind::Str);
            self.list_output(&name);
        }
        Ok(())
    }

    /// Unnests list columns (of equal lengths) into one row per item, with
    /// the item's position as the last sort key, so that items keep their
    /// order under later sorts.
    fn unnest(&mut self, lists: &[String]) -> Result<(), ExecError> {
        let (Some(first), ordinal) = (lists.first(), self.fresh("n")) else { return Ok(()) };
        if self.env.order.is_empty() {
            self.env.order = self.default_order();
        }
        self.add_columns(vec![(ordinal.clone(), Arc::new(time::Ordinals::udf()).call(vec![column(first)]))])?;
        let mut names: Vec<&str> = lists.iter().map(String::as_str).collect();
        names.push(&ordinal);
        let df = self.frame()?;
        self.df = Some(df.unnest_columns(&names)?);
        self.env.order.push(column(&ordinal).sort(true, false));
        Ok(())
    }

    /// `pattern e`: events grouped by the shape of `e` — each token that
    /// holds a digit is a variable `<*>` — counted, most frequent first.
    fn pattern(&mut self, expr: &QExpr) -> Result<(), ExecError> {
        let (value, kind) = self.expr(expr, &mut Ctx::Row)?;
        let (_, eval) = library::lookup("__pattern").ok_or_else(|| ExecError::Internal("no __pattern".into()))?;
        let shape = RowFunction::udf("pattern", Out::Str, eval).call(vec![text(value, kind)]);
        let (group, count, total, ratio) = (self.fresh("g"), self.fresh("s"), self.fresh("s"), self.fresh("s"));
        let df = self.frame()?;
        let df = df.filter(shape.clone().is_not_null())?.aggregate(vec![shape.alias(&group)], vec![agg::count(lit(1i64)).alias(&count)])?;
        let window = Expr::from(datafusion::logical_expr::expr::WindowFunction::new(
            datafusion::logical_expr::expr::WindowFunctionDefinition::AggregateUDF(datafusion::functions_aggregate::sum::sum_udaf()),
            vec![column(&count)],
        ));
        let df = df.window(vec![window.alias(&total)])?;
        let ratio_expr = bin_expr(Expr::Cast(Cast::new(Box::new(column(&count)), DataType::Float64)), Operator::Divide, Expr::Cast(Cast::new(Box::new(column(&total)), DataType::Float64)));
        let df = df.select(vec![column(&group), column(&count), ratio_expr.alias(&ratio)])?;
        self.columns = df.schema().fields().iter().map(|field| field.name().clone()).collect();
        self.df = Some(df);
        let mut env = Env::default();
        env.define("@pattern", group.clone(), Kind::Str);
        env.define("@sampleCount", count.clone(), Kind::Num);
        env.define("@ratio", ratio, Kind::Num);
        env.output = Some(vec!["@pattern".into(), "@ratio".into(), "@sampleCount".into()]);
        self.env = env;
        self.sort(vec![column(&count).sort(false, false), column(&group).sort(true, false)])
    }

    fn stats(&mut self, stats: &Stats) -> Result<(), ExecError> {
        let offset = match stats.offset {
            Some(duration) => i64::try_from(duration.fixed_millis().ok_or_else(|| unsupported("a calendar offset"))?).unwrap_or(0),
            None => 0,
        };
        // Groups.
        let mut groups = Vec::new();
        let mut group_defs = Vec::new();
        let mut timestamp_alias = None;
        for item in &stats.by {
            let (expr, kind) = match (&item.expr.kind, offset) {
                (ExprKind::Call { name: "bin", args }, offset) => self.bin(args, offset)?,
                _ => self.expr(&item.expr, &mut Ctx::Row)?,
            };
            let name = self.fresh("g");
            if matches!(item.expr.kind, ExprKind::Call { name: "bin", .. }) && item.alias.is_none() {
                timestamp_alias = Some(name.clone());
            }
            groups.push(expr.alias(&name));
            group_defs.push((item.output_name(), name, kind));
        }
        // Aggregations.
        let mut aggregates = Vec::new();
        let mut locals: HashMap<String, (Expr, Kind)> = HashMap::new();
        let mut finals = Vec::new();
        for item in &stats.aggregations {
            let (expr, kind) = {
                let mut ctx = Ctx::Stats { aggregates: &mut aggregates, locals: &locals };
                self.expr(&item.expr, &mut ctx)?
            };
            let name = self.fresh("s");
            locals.insert(item.output_name(), (expr.clone(), kind));
            finals.push((item.output_name(), name, expr, kind));
        }
        let df = self.frame()?;
        let df = df.aggregate(groups, aggregates)?;
        let mut select: Vec<Expr> = group_defs.iter().map(|(_, name, _)| column(name)).collect();
        for (_, name, expr, _) in &finals {
            select.push(expr.clone().alias(name));
        }
        let df = df.select(select)?;
        self.columns = df.schema().fields().iter().map(|field| field.name().clone()).collect();
        self.df = Some(df);
        // The new environment: only what stats made.
        let mut env = Env::default();
        let mut output = Vec::new();
        for (name, column_name, kind) in &group_defs {
            env.define(name, column_name.clone(), *kind);
            list_push(&mut output, name);
        }
        if let Some(bin) = timestamp_alias {
            env.define("@timestamp", bin, Kind::Time);
        }
        for (name, column_name, _, kind) in &finals {
            env.define(name, column_name.clone(), *kind);
            list_push(&mut output, name);
        }
        env.output = Some(output);
        self.env = env;
        // Stats rows are ordered by their groups unless sorted.
        let order: Vec<SortExpr> = group_defs.iter().map(|(_, name, _)| column(name).sort(true, false)).collect();
        if !order.is_empty() {
            self.sort(order)?;
        }
        Ok(())
    }

    /// `bin(period)`: the start of the period holding `@timestamp`.
    fn bin(&mut self, args: &[QExpr], offset: i64) -> Result<(Expr, Kind), ExecError> {
        if !self.env.events {
            return Err(unsupported("bin() after stats"));
        }
        let Some(QExpr { kind: ExprKind::Literal(Literal::Duration(period)), .. }) = args.first() else {
            return Err(unsupported("bin() without a period"));
        };
        let period = period.capped();
        Ok((self.floor(column(TIMESTAMP), period, offset, false), Kind::Time))
    }

    fn floor(&self, timestamp: Expr, period: Duration, offset: i64, ceil: bool) -> Expr {
        match period.fixed_millis() {
            Some(millis) if !ceil && period.unit != TimeUnit::Week => {
                let nanos = i64::try_from(millis).unwrap_or(i64::MAX / 1_000_000).saturating_mul(1_000_000);
                let stride = lit(ScalarValue::IntervalMonthDayNano(Some(arrow::datatypes::IntervalMonthDayNano::new(0, 0, nanos))));
                let origin = lit(ScalarValue::TimestampMillisecond(Some(offset), Some(udf::UTC.into())));
                datafusion::functions::expr_fn::date_bin(stride, timestamp, origin)
            }
            _ => Arc::new(time::Floor::udf()).call(vec![timestamp, lit(i64::try_from(period.amount).unwrap_or(i64::MAX)), lit(time::unit_code(period.unit)), lit(offset), lit(i64::from(ceil))]),
        }
    }

    /// A field reference.
    fn field(&mut self, path: &FieldPath, ctx: &Ctx<'_>) -> Result<(Expr, Kind), ExecError> {
        let name = path.name();
        if let Ctx::Stats { locals, .. } = ctx
            && let Some((expr, kind)) = locals.get(&name)
        {
            return Ok((expr.clone(), *kind));
        }
        if let Some(defined) = self.env.find(&name) {
            return Ok((column(&defined.column), defined.kind));
        }
        // A member of a defined field (a jsonParse value, an unnested item).
        for cut in (1..path.segments.len()).rev() {
            let prefix = FieldPath { segments: path.segments.get(..cut).map(<[PathSegment]>::to_vec).unwrap_or_default() };
            if let Some(defined) = self.env.find(&prefix.name()) {
                let rest: Vec<String> = path
                    .segments
                    .get(cut..)
                    .unwrap_or_default()
                    .iter()
                    .map(|segment| match segment {
                        PathSegment::Key { name, .. } => name.clone(),
                        PathSegment::Index(index) => index.to_string(),
                    })
                    .collect();
                let (_, eval) = library::lookup("__jsonGet").ok_or_else(|| ExecError::Internal("no __jsonGet".into()))?;
                let get = RowFunction::udf("jsonGet", Out::Str, eval);
                return Ok((get.call(vec![column(&defined.column), lit(rest.join("."))]), Kind::Str));
            }
        }
        if !self.env.events {
            return Err(ExecError::Invalid(format!("unknown field {name} after stats")));
        }
        if let Some((column_name, kind)) = system_field(&name) {
            return Ok((column(column_name), kind));
        }
        if name == "@ptr" {
            return Err(unsupported("@ptr in an expression"));
        }
        // A discovered field of the event.
        let flat = fields::normalize(&name);
        let index = {
            let mut names = self.discovered.lock().map_err(|_| ExecError::Internal("poisoned".into()))?;
            match names.iter().position(|existing| *existing == flat) {
                Some(index) => index,
                None => {
                    names.push(flat);
                    names.len() - 1
                }
            }
        };
        Ok((self.extractor.call(vec![column(MESSAGE), lit(i64::try_from(index).unwrap_or(0))]), Kind::Str))
    }

    fn expr(&mut self, expr: &QExpr, ctx: &mut Ctx<'_>) -> Result<(Expr, Kind), ExecError> {
        match &expr.kind {
            ExprKind::Literal(Literal::Integer(value)) => {
                #[expect(clippy::cast_precision_loss)]
                let value = *value as f64;
                Ok((lit(value), Kind::Num))
            }
            ExprKind::Literal(Literal::Float(value)) => Ok((lit(*value), Kind::Num)),
            ExprKind::Literal(Literal::String(text)) => Ok((lit(text.clone()), Kind::Str)),
            ExprKind::Literal(Literal::Bool(value)) => Ok((lit(*value), Kind::Bool)),
            ExprKind::Literal(Literal::Duration(_) | Literal::Regex(_)) | ExprKind::Star | ExprKind::List(_) => Err(ExecError::Invalid(format!("{expr} is not a value here"))),
            ExprKind::Field(path) => self.field(path, ctx),
            ExprKind::Unary { op: UnaryOp::Neg, operand } => {
                let (value, kind) = self.expr(operand, ctx)?;
                Ok((Expr::Negative(Box::new(num(value, kind))), Kind::Num))
            }
            ExprKind::Unary { op: UnaryOp::Not, operand } => {
                let (value, kind) = self.expr(operand, ctx)?;
                Ok((Expr::Not(Box::new(truthy(value, kind))), Kind::Bool))
            }
            ExprKind::Binary { op, left, right } => {
                let (l, lk) = self.expr(left, ctx)?;
                let (r, rk) = self.expr(right, ctx)?;
                Ok(binary(*op, l, lk, r, rk))
            }
            ExprKind::Like { negated, expr: operand, pattern, .. } => {
                let (value, kind) = self.expr(operand, ctx)?;
                Ok((like(text(value, kind), pattern, *negated), Kind::Bool))
            }
            ExprKind::In { negated, expr: operand, set } => {
                let (value, kind) = self.expr(operand, ctx)?;
                let ExprKind::List(items) = &set.kind else { return Err(unsupported("in with a field (use a list: in [\"a\", \"b\"])")) };
                let mut alternatives = Vec::new();
                for item in items {
                    let (item, item_kind) = self.expr(item, ctx)?;
                    alternatives.push((item, item_kind));
                }
                let all_text = alternatives.iter().all(|(_, k)| *k == Kind::Str) && kind == Kind::Str;
                let all_num = alternatives.iter().all(|(_, k)| *k == Kind::Num);
                let result = if all_text {
                    Expr::InList(datafusion::logical_expr::expr::InList::new(Box::new(value), alternatives.into_iter().map(|(e, _)| e).collect(), *negated))
                } else if all_num {
                    Expr::InList(datafusion::logical_expr::expr::InList::new(Box::new(num(value, kind)), alternatives.into_iter().map(|(e, _)| e).collect(), *negated))
                } else {
                    let any = alternatives.into_iter().map(|(item, item_kind)| binary(BinaryOp::Eq, value.clone(), kind, item, item_kind).0).reduce(Expr::or).unwrap_or(lit(false));
                    if *negated { Expr::Not(Box::new(any)) } else { any }
                };
                Ok((result, Kind::Bool))
            }
            ExprKind::Call { name, args } => self.call(name, args, ctx),
        }
    }

    fn call(&mut self, name: &'static str, args: &[QExpr], ctx: &mut Ctx<'_>) -> Result<(Expr, Kind), ExecError> {
        let spec = crate::insights::lookup_function(name).ok_or_else(|| unsupported(format!("the function {name}")))?;
        if spec.class.is_aggregate() {
            return self.aggregate(name, spec.class, args, ctx);
        }
        let period = |index: usize| match args.get(index) {
            Some(QExpr { kind: ExprKind::Literal(Literal::Duration(period)), .. }) => Ok(*period),
            _ => Err(ExecError::Invalid(format!("{name} needs a time period such as 5m"))),
        };
        match name {
            "bin" => return self.bin(args, 0),
            "datefloor" | "dateceil" => {
                let (value, kind) = self.expr(args.first().ok_or_else(|| ExecError::Invalid(format!("{name} needs a timestamp")))?, ctx)?;
                let value = if kind == Kind::Time { value } else { num(value, kind) };
                return Ok((self.floor(value, period(1)?, 0, name == "dateceil"), Kind::Time));
            }
            "now" => {
                #[expect(clippy::cast_precision_loss)]
                let seconds = (self.options.now_ms.div_euclid(1000)) as f64;
                return Ok((lit(seconds), Kind::Num));
            }
            "queryStartTime" | "queryEndTime" | "queryTimeRange" => {
                let value = match name {
                    "queryStartTime" => self.options.start_time,
                    "queryEndTime" => self.options.end_time,
                    _ => self.options.end_time - self.options.start_time,
                };
                #[expect(clippy::cast_precision_loss)]
                let value = value as f64;
                return Ok((lit(value), Kind::Num));
            }
            _ => {}
        }
        let (out, eval) = library::lookup(name).ok_or_else(|| unsupported(format!("the function {name}")))?;
        let mut lowered = Vec::new();
        let mut kinds = Vec::new();
        for arg in args {
            let (value, kind) = self.expr(arg, ctx)?;
            lowered.push(value);
            kinds.push(kind);
        }
        let kind = match out {
            Out::Num => Kind::Num,
            Out::Str => Kind::Str,
            Out::Bool => Kind::Bool,
            Out::Time => Kind::Time,
            Out::Common(values) => {
                let types: Vec<DataType> = kinds.iter().map(|kind| data_type(*kind)).collect();
                kind_of(&Out::Common(values).data_type(&types))
            }
        };
        Ok((RowFunction::udf(name, out, eval).call(lowered), kind))
    }

    fn aggregate(&mut self, name: &str, class: FunctionClass, args: &[QExpr], ctx: &mut Ctx<'_>) -> Result<(Expr, Kind), ExecError> {
        if class == FunctionClass::TimeSeries {
            return Err(unsupported(format!("the time-series function {name}")));
        }
        if !matches!(ctx, Ctx::Stats { .. }) {
            return Err(ExecError::Invalid(format!("{name} is only allowed in stats")));
        }
        // Arguments are row expressions over the rows before stats.
        let mut lowered = Vec::new();
        for arg in args {
            if matches!(arg.kind, ExprKind::Star) {
                continue;
            }
            lowered.push(self.expr(arg, &mut Ctx::Row)?);
        }
        let Ctx::Stats { aggregates, .. } = ctx else { return Err(ExecError::Internal("stats context".into())) };
        let mut push = |aggregate: Expr| -> Expr {
            let name = format!("a{}", aggregates.len());
            aggregates.push(aggregate.alias(&name));
            column(&name)
        };
        let first = lowered.first().cloned();
        let need = |what: &str| ExecError::Invalid(format!("{name} needs {what}"));
        let result = match name {
            "count" => match first {
                None => (push(agg::count(lit(1i64))), Kind::Num),
                Some((value, _)) => (push(agg::count(value)), Kind::Num),
            },
            "count_distinct" => {
                let (value, _) = first.ok_or_else(|| need("a field"))?;
                (push(agg::count_distinct(value)), Kind::Num)
            }
            "avg" | "sum" | "stddev" => {
                let (value, kind) = first.ok_or_else(|| need("a field"))?;
                let value = num(value, kind);
                let aggregate = match name {
                    "avg" => agg::avg(value),
                    "sum" => agg::sum(value),
                    _ => agg::stddev(value),
                };
                (push(aggregate), Kind::Num)
            }
            "min" | "max" | "sortsFirst" | "sortsLast" => {
                let (value, kind) = first.ok_or_else(|| need("a field"))?;
                let lowest = matches!(name, "min" | "sortsFirst");
                let pick = |value: Expr| if lowest { agg::min(value) } else { agg::max(value) };
                if kind == Kind::Str {
                    // Numeric when values read as numbers, else by text.
                    let numeric = push(pick(num(value.clone(), kind)));
                    let textual = push(pick(value));
                    (datafusion::functions::expr_fn::coalesce(vec![Arc::new(ToText::udf()).call(vec![numeric]), textual]), Kind::Str)
                } else {
                    (push(pick(value)), kind)
                }
            }
            "pct" => {
                let (value, kind) = first.ok_or_else(|| need("a field"))?;
                let percent = match args.get(1).map(|arg| &arg.kind) {
                    Some(ExprKind::Literal(Literal::Integer(p))) => {
                        #[expect(clippy::cast_precision_loss)]
                        let p = *p as f64;
                        p
                    }
                    Some(ExprKind::Literal(Literal::Float(p))) => *p,
                    _ => return Err(need("a literal percentile")),
                };
                (push(agg::percentile_cont(num(value, kind).sort(true, false), lit(percent / 100.0))), Kind::Num)
            }
            "earliest" | "latest" => {
                let (value, kind) = first.ok_or_else(|| need("a field"))?;
                if !self.env.events {
                    return Err(unsupported(format!("{name} after stats")));
                }
                let order = vec![column(TIMESTAMP).sort(true, false), column(EVENT_ID).sort(true, false)];
                let aggregate = if name == "earliest" { agg::first_value(value, order) } else { agg::last_value(value, order) };
                (push(aggregate), kind)
            }
            _ => return Err(unsupported(format!("the function {name}"))),
        };
        Ok(result)
    }

    fn finish(mut self, dedup: Option<Vec<String>>, limit: usize) -> Result<(DataFrame, Output), ExecError> {
        let env = std::mem::take(&mut self.env);
        let mut columns: Vec<(String, String)> = Vec::new();
        let mut select: Vec<Expr> = Vec::new();
        let add = |name: &str, column_name: &str, select: &mut Vec<Expr>| {
            let out = format!("o{}", select.len());
            select.push(column(column_name).alias(&out));
            (name.to_string(), out)
        };
        let default_fields = env.events && env.output.is_none() && env.display.is_none();
        let names: Vec<String> = match (&env.display, &env.output) {
            (Some(display), _) => display.clone(),
            (None, Some(output)) => output.clone(),
            (None, None) => env.extra.clone(),
        };
        if default_fields {
            for (name, system) in [("@timestamp", TIMESTAMP), ("@message", MESSAGE), ("@logStream", LOG_STREAM), ("@log", LOG)] {
                columns.push(add(name, system, &mut select));
            }
        }
        for name in &names {
            if let Some(defined) = env.find(name) {
                columns.push(add(name, &defined.column.clone(), &mut select));
            } else if let Some((system, _)) = system_field(name).filter(|_| env.events) {
                columns.push(add(name, system, &mut select));
            }
        }
        let ptr = env.events;
        if ptr {
            for system in [LOG, TIMESTAMP, EVENT_ID] {
                let (_, out) = add(system, system, &mut select);
                columns.push((format!("__ptr_{system}"), out));
            }
        }
        let dedup = dedup.map(|dedup_columns| {
            dedup_columns
                .iter()
                .map(|dedup_column| {
                    let (_, out) = add(dedup_column, dedup_column, &mut select);
                    columns.push((format!("__dedup_{dedup_column}"), out.clone()));
                    out
                })
                .collect()
        });
        let df = self.frame()?.select(select)?;
        Ok((df, Output { columns, default_fields, ptr, dedup, limit }))
    }
}

fn clamp(count: u64) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

pub(crate) fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str => DataType::Utf8,
        Kind::Num => DataType::Float64,
        Kind::Bool => DataType::Boolean,
        Kind::Time => udf::timestamp_type(),
    }
}

fn kind_of(data_type: &DataType) -> Kind {
    match data_type {
        DataType::Float64 => Kind::Num,
        DataType::Boolean => Kind::Bool,
        DataType::Timestamp(_, _) => Kind::Time,
        _ => Kind::Str,
    }
}

/// A value as a number (null when it does not read as one).
fn num(expr: Expr, kind: Kind) -> Expr {
    match kind {
        Kind::Num => expr,
        Kind::Bool => Expr::Cast(Cast::new(Box::new(expr), DataType::Float64)),
        Kind::Str | Kind::Time => Arc::new(ToNumber::udf()).call(vec![expr]),
    }
}

/// A value as text, as Insights shows it.
fn text(expr: Expr, kind: Kind) -> Expr {
    match kind {
        Kind::Str => expr,
        _ => Arc::new(ToText::udf()).call(vec![expr]),
    }
}

/// A value as a condition.
fn truthy(expr: Expr, kind: Kind) -> Expr {
    match kind {
        Kind::Bool => expr,
        Kind::Num => expr.not_eq(lit(0.0)),
        Kind::Time => expr.is_not_null(),
        Kind::Str => RowFunction::udf("truthy", Out::Bool, |args| args.first().and_then(udf::Val::truthy).map_or(udf::Val::Null, udf::Val::Bool)).call(vec![expr]),
    }
}

fn operator(op: BinaryOp) -> Operator {
    match op {
        BinaryOp::Add => Operator::Plus,
        BinaryOp::Sub => Operator::Minus,
        BinaryOp::Mul => Operator::Multiply,
        BinaryOp::Div => Operator::Divide,
        BinaryOp::Mod => Operator::Modulo,
        BinaryOp::Pow => Operator::Multiply,
        BinaryOp::Eq => Operator::Eq,
        BinaryOp::Ne => Operator::NotEq,
        BinaryOp::Lt => Operator::Lt,
        BinaryOp::Le => Operator::LtEq,
        BinaryOp::Gt => Operator::Gt,
        BinaryOp::Ge => Operator::GtEq,
        BinaryOp::And => Operator::And,
        BinaryOp::Or => Operator::Or,
    }
}

fn bin_expr(left: Expr, op: Operator, right: Expr) -> Expr {
    Expr::BinaryExpr(BinaryExpr::new(Box::new(left), op, Box::new(right)))
}

fn binary(op: BinaryOp, l: Expr, lk: Kind, r: Expr, rk: Kind) -> (Expr, Kind) {
    match op {
        BinaryOp::And | BinaryOp::Or => (bin_expr(truthy(l, lk), operator(op), truthy(r, rk)), Kind::Bool),
        BinaryOp::Pow => (
            RowFunction::udf("pow", Out::Num, |args| match (args.first().and_then(udf::Val::num), args.get(1).and_then(udf::Val::num)) {
                (Some(a), Some(b)) => udf::Val::Num(a.powf(b)),
                _ => udf::Val::Null,
            })
            .call(vec![num(l, lk), num(r, rk)]),
            Kind::Num,
        ),
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
            let (l, r) = (num(l, lk), num(r, rk));
            // Division by zero is no value (not an error, not infinity).
            let expr = if matches!(op, BinaryOp::Div | BinaryOp::Mod) {
                let zero = r.clone().eq(lit(0.0));
                Expr::Case(datafusion::logical_expr::expr::Case::new(None, vec![(Box::new(zero), Box::new(lit(ScalarValue::Float64(None))))], Some(Box::new(bin_expr(l, operator(op), r)))))
            } else {
                bin_expr(l, operator(op), r)
            };
            (expr, Kind::Num)
        }
        _ => (compare(op, l, lk, r, rk), Kind::Bool),
    }
}

/// A comparison with Insights' loose types: numbers compare as numbers
/// (a string that reads as a number is one), timestamps as timestamps,
/// strings as strings.
fn compare(op: BinaryOp, l: Expr, lk: Kind, r: Expr, rk: Kind) -> Expr {
    let operator = operator(op);
    match (lk, rk) {
        (Kind::Str, Kind::Str) if matches!(op, BinaryOp::Eq | BinaryOp::Ne) => bin_expr(l, operator, r),
        (Kind::Str, Kind::Str) => {
            // Both numeric: as numbers; else as text.
            let (ln, rn) = (num(l.clone(), lk), num(r.clone(), rk));
            let numeric = ln.clone().is_not_null().and(rn.clone().is_not_null());
            Expr::Case(datafusion::logical_expr::expr::Case::new(None, vec![(Box::new(numeric), Box::new(bin_expr(ln, operator, rn)))], Some(Box::new(bin_expr(l, operator, r)))))
        }
        (a, b) if a == b => bin_expr(l, operator, r),
        (Kind::Str, _) | (_, Kind::Str) if op == BinaryOp::Ne => {
            // A string that is not a number differs from every number.
            let (text_side, _) = if lk == Kind::Str { (l.clone(), r.clone()) } else { (r.clone(), l.clone()) };
            let different = datafusion::functions::expr_fn::coalesce(vec![bin_expr(num(l, lk), operator, num(r, rk)), lit(true)]);
            text_side.is_not_null().and(different)
        }
        _ => bin_expr(num(l, lk), operator, num(r, rk)),
    }
}

/// Sort keys for one `sort` item: strings that read as numbers sort as
/// numbers, before other strings; missing values last.
fn sort_keys(expr: Expr, kind: Kind, asc: bool) -> Vec<SortExpr> {
    match kind {
        Kind::Str => vec![num(expr.clone(), kind).sort(asc, false), expr.sort(asc, false)],
        _ => vec![expr.sort(asc, false)],
    }
}

/// `like` / `=~`: a string is a substring test, a regex a search; a regex
/// without special characters is a substring test too (memmem, no regex
/// engine), `(?i)` in front of one a case-insensitive one.
fn like(value: Expr, pattern: &LikePattern, negated: bool) -> Expr {
    let substring = |needle: &str, insensitive: bool| {
        let mut escaped = String::from("%");
        for c in needle.chars() {
            if matches!(c, '%' | '_' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        escaped.push('%');
        Expr::Like(Like::new(negated, Box::new(value.clone()), Box::new(lit(escaped)), Some('\\'), insensitive))
    };
    match pattern {
        LikePattern::Text(needle) => substring(needle, false),
        LikePattern::Regex(regex) => {
            let (body, insensitive) = match regex.pattern.strip_prefix("(?i)") {
                Some(rest) => (rest, true),
                None => (regex.pattern.as_str(), false),
            };
            match literal_text(body) {
                Some(needle) if !needle.is_empty() && (!insensitive || needle.is_ascii()) => substring(&needle, insensitive),
                _ => bin_expr(value, if negated { Operator::RegexNotMatch } else { Operator::RegexMatch }, lit(regex.pattern.clone())),
            }
        }
    }
}

/// The text a regex matches when it has no special characters (escaped
/// punctuation such as `\.` counts as the character).
pub(crate) fn literal_text(pattern: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next()?;
                if next.is_ascii_alphanumeric() {
                    return None;
                }
                out.push(next);
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => return None,
            other => out.push(other),
        }
    }
    Some(out)
}
