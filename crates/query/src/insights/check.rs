//! Checks of a parsed query that the grammar alone does not make:
//! functions' arity and argument kinds, where aggregates may be, the order
//! of commands AWS insists on, and which fields exist after `stats`.
//!
//! Argument kinds are only checked where they are known without data: a
//! literal, or a function's declared result. A field may hold anything, so
//! it passes every check.

use super::ast::*;
use super::error::{ErrorKind, Failure, MAX_STATS_COMMANDS};
use super::functions::{FunctionSpec, ValueKind};

pub(crate) fn check(query: &Query) -> Result<(), Failure> {
    check_order(query)?;
    for command in &query.commands {
        check_command(command)?;
    }
    check_fields_after_stats(query)
}

// ---- command order ----

fn check_order(query: &Query) -> Result<(), Failure> {
    let stats_positions: Vec<usize> = query.commands.iter().enumerate().filter(|(_, command)| matches!(command.kind, CommandKind::Stats(_))).map(|(index, _)| index).collect();
    if let Some(&extra) = stats_positions.get(MAX_STATS_COMMANDS)
        && let Some(command) = query.commands.get(extra)
    {
        return Err(Failure::new(ErrorKind::CommandOrder, command.span, format!("a query can have at most {MAX_STATS_COMMANDS} stats commands")).hint("aggregate in at most two steps"));
    }
    let second_stats = stats_positions.get(1).copied();
    let mut after_dedup = false;
    for (index, command) in query.commands.iter().enumerate() {
        if after_dedup && !matches!(command.kind, CommandKind::Limit { .. }) {
            return Err(Failure::new(ErrorKind::CommandOrder, command.span, format!("{} cannot follow dedup", command.name())).hint("only limit can come after dedup; move dedup to the end"));
        }
        match &command.kind {
            CommandKind::Source(_) if index > 0 => {
                return Err(Failure::new(ErrorKind::CommandOrder, command.span, "SOURCE must be the first command").hint("start the query with SOURCE logGroups(...)"));
            }
            CommandKind::Sort(_) | CommandKind::Limit { .. } if second_stats.is_some_and(|second| index < second) => {
                return Err(Failure::new(ErrorKind::CommandOrder, command.span, format!("{} must come after the second stats command", command.name()))
                    .hint("in a query with two stats commands, sort and limit may only follow the second"));
            }
            CommandKind::Dedup(_) => after_dedup = true,
            _ => {}
        }
    }
    Ok(())
}

// ---- expressions ----

/// Where an expression stands, for aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Aggregates are not allowed (fields, filter, sort, `by`, …).
    Scalar,
    /// A `stats` aggregation: aggregates are allowed, not nested.
    Aggregation,
}

fn check_command(command: &Command) -> Result<(), Failure> {
    match &command.kind {
        CommandKind::Fields(items) | CommandKind::Display(items) => items.iter().try_for_each(|item| check_expr(&item.expr, Place::Scalar, None)),
        CommandKind::Filter(expr) | CommandKind::FilterIndex(expr) | CommandKind::Pattern(expr) => check_expr(expr, Place::Scalar, None),
        CommandKind::Sort(keys) => keys.iter().try_for_each(|key| check_expr(&key.expr, Place::Scalar, None)),
        CommandKind::Dedup(fields) => fields.iter().try_for_each(|field| check_expr(field, Place::Scalar, None)),
        CommandKind::Unnest { field, .. } => check_expr(field, Place::Scalar, None),
        CommandKind::Parse(parse) => check_expr(&parse.source, Place::Scalar, None),
        CommandKind::Stats(stats) => check_stats(stats),
        CommandKind::Limit { .. } | CommandKind::Anomaly | CommandKind::Diff(_) | CommandKind::Unmask | CommandKind::Source(_) | CommandKind::Other { .. } => Ok(()),
    }
}

fn check_stats(stats: &Stats) -> Result<(), Failure> {
    let mut aliases: Vec<&str> = Vec::new();
    for item in &stats.aggregations {
        check_expr(&item.expr, Place::Aggregation, None)?;
        let mut has_aggregate = false;
        let mut uses_alias = false;
        let mut stray: Option<&Expr> = None;
        outside_aggregates(&item.expr, &mut |expr| match &expr.kind {
            ExprKind::Call { .. } if expr.call_spec().is_some_and(|spec| spec.class.is_aggregate()) => has_aggregate = true,
            ExprKind::Field(path) if aliases.contains(&path.name().as_str()) => uses_alias = true,
            ExprKind::Field(_) if stray.is_none() => stray = Some(expr),
            _ => {}
        });
        if let Some(field) = stray {
            let name = field.to_string();
            return Err(Failure::new(ErrorKind::Aggregate, field.span, format!("{name} is not aggregated"))
                .hint(format!("in stats, use a field inside an aggregation function such as max({name}), or group by it: by {name}")));
        }
        if !has_aggregate && !uses_alias {
            return Err(Failure::new(ErrorKind::Aggregate, item.expr.span, "stats needs an aggregation function here").hint("use count(*), avg(field), sum(field), min, max, pct, stddev, count_distinct, earliest, latest, …"));
        }
        if let Some(alias) = &item.alias {
            aliases.push(&alias.name);
        }
    }
    for item in &stats.by {
        check_expr(&item.expr, Place::Scalar, None)?;
    }
    Ok(())
}

/// Calls `f` on the nodes of `expr` that are not inside an aggregate call
/// (the aggregate calls themselves included).
fn outside_aggregates<'a>(expr: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(expr);
    if expr.call_spec().is_some_and(|spec| spec.class.is_aggregate()) {
        return;
    }
    for child in expr.kind.children() {
        outside_aggregates(child, f);
    }
}

/// The kind of value an expression has, when it is known without data.
fn static_kind(expr: &Expr) -> Option<ValueKind> {
    match &expr.kind {
        ExprKind::Literal(Literal::Integer(_) | Literal::Float(_)) => Some(ValueKind::Number),
        ExprKind::Literal(Literal::String(_)) => Some(ValueKind::String),
        ExprKind::Literal(Literal::Bool(_)) => Some(ValueKind::Boolean),
        ExprKind::Literal(Literal::Duration(_)) => Some(ValueKind::Period),
        ExprKind::List(_) => Some(ValueKind::List),
        ExprKind::Unary { op: UnaryOp::Neg, .. } => Some(ValueKind::Number),
        ExprKind::Unary { op: UnaryOp::Not, .. } | ExprKind::Like { .. } | ExprKind::In { .. } => Some(ValueKind::Boolean),
        ExprKind::Binary { op, .. } if op.is_arithmetic() => Some(ValueKind::Number),
        ExprKind::Binary { .. } => Some(ValueKind::Boolean),
        ExprKind::Call { .. } => expr.call_spec().map(|spec| spec.result).filter(|kind| *kind != ValueKind::Any),
        ExprKind::Literal(Literal::Regex(_)) | ExprKind::Field(_) | ExprKind::Star => None,
    }
}

/// Whether a value of kind `actual` can be passed where `wanted` is declared.
/// Numbers, strings, conditions and timestamps convert into each other the
/// way Insights converts them (a number is a string of digits, a condition
/// is 1 or 0, a timestamp is milliseconds); periods, lists and maps do not.
fn fits(wanted: ValueKind, actual: ValueKind) -> bool {
    use ValueKind::*;
    match wanted {
        Any | String => !matches!(actual, Period | List),
        Number | Boolean => matches!(actual, Number | Boolean | Timestamp),
        Timestamp => matches!(actual, Timestamp | Number),
        Period => actual == Period,
        Structure | List | Map => matches!(actual, Structure | List | Map),
    }
}

/// Checks an expression; `within` is the aggregate call it is inside, if any.
fn check_expr(expr: &Expr, place: Place, within: Option<&'static FunctionSpec>) -> Result<(), Failure> {
    match &expr.kind {
        ExprKind::Literal(Literal::Duration(_)) => Err(Failure::new(ErrorKind::ArgumentKind, expr.span, format!("unexpected time period {}", expr)).hint("a time period can only be the period argument of bin, datefloor, dateceil or rate")),
        ExprKind::Literal(Literal::Regex(_)) => Err(Failure::new(ErrorKind::ArgumentKind, expr.span, "unexpected regular expression").hint("a /regex/ can only follow like or =~, or be the pattern of parse")),
        ExprKind::Literal(_) | ExprKind::Field(_) => Ok(()),
        ExprKind::Star => Err(Failure::new(ErrorKind::ArgumentKind, expr.span, "unexpected '*'").hint("* can only stand alone in count(*)")),
        ExprKind::List(_) => Err(Failure::new(ErrorKind::ArgumentKind, expr.span, "unexpected list").hint("a [list] can only follow in or not in")),
        ExprKind::In { expr: left, set, .. } => {
            check_expr(left, place, within)?;
            match &set.kind {
                ExprKind::List(items) => items.iter().try_for_each(|item| check_expr(item, place, within)),
                _ => check_expr(set, place, within),
            }
        }
        ExprKind::Binary { op, left, right } if op.is_arithmetic() => {
            for operand in [left, right] {
                if let Some(kind) = static_kind(operand)
                    && !fits(ValueKind::Number, kind)
                {
                    return Err(Failure::new(ErrorKind::ArgumentKind, operand.span, format!("'{}' needs numbers, not {}", op.symbol(), kind.describe())).hint("arithmetic works on numbers"));
                }
                check_expr(operand, place, within)?;
            }
            Ok(())
        }
        ExprKind::Call { args, .. } => {
            let Some(spec) = expr.call_spec() else {
                return Ok(());
            };
            check_call(expr, spec, args, place, within)
        }
        _ => expr.kind.children().try_for_each(|child| check_expr(child, place, within)),
    }
}

fn check_call(expr: &Expr, spec: &'static FunctionSpec, args: &[Expr], place: Place, within: Option<&'static FunctionSpec>) -> Result<(), Failure> {
    let count = args.len();
    if count < spec.min_args || spec.max_args.is_some_and(|max| count > max) {
        let expected = match (spec.min_args, spec.max_args) {
            (min, Some(max)) if min == max => format!("{min} argument{}", if min == 1 { "" } else { "s" }),
            (min, Some(max)) => format!("{min} to {max} arguments"),
            (min, None) => format!("at least {min} argument{}", if min == 1 { "" } else { "s" }),
        };
        return Err(Failure::new(ErrorKind::Arity, expr.span, format!("{} takes {expected}, not {count}", spec.name)).hint(format!("write {}", spec.signature())));
    }
    let aggregate = spec.class.is_aggregate();
    if aggregate {
        if place != Place::Aggregation {
            return Err(Failure::new(ErrorKind::Aggregate, expr.span, format!("aggregation function {} outside stats", spec.name)).hint(format!("use {} in a stats command: stats {}", spec.name, spec.signature())));
        }
        if let Some(outer) = within {
            return Err(Failure::new(ErrorKind::Aggregate, expr.span, format!("aggregation function {} inside {}", spec.name, outer.name)).hint("aggregation functions cannot be nested"));
        }
    }
    for (index, arg) in args.iter().enumerate() {
        let Some((param, wanted)) = spec.param(index) else {
            continue;
        };
        if matches!(arg.kind, ExprKind::Star) {
            if spec.accepts_star && count == 1 {
                continue;
            }
            return Err(Failure::new(ErrorKind::ArgumentKind, arg.span, "unexpected '*'").hint(format!("* can only stand alone in count(*); write {}", spec.signature())));
        }
        if wanted == ValueKind::Period {
            if matches!(arg.kind, ExprKind::Literal(Literal::Duration(_))) {
                continue;
            }
            return Err(Failure::new(ErrorKind::ArgumentKind, arg.span, format!("argument {} of {} ({param}) must be a time period", index + 1, spec.name)).hint(format!("write a number and a unit such as 5m, 1h or 1d: {}", spec.signature())));
        }
        if let Some(actual) = static_kind(arg)
            && !fits(wanted, actual)
            && actual != ValueKind::Period
        {
            return Err(Failure::new(ErrorKind::ArgumentKind, arg.span, format!("argument {} of {} ({param}) must be {}, not {}", index + 1, spec.name, wanted.describe(), actual.describe())).hint(format!("write {}", spec.signature())));
        }
        if spec.name == "pct" && index == 1 {
            let percent = match arg.kind {
                ExprKind::Literal(Literal::Integer(value)) => Some(value as f64),
                ExprKind::Literal(Literal::Float(value)) => Some(value),
                _ => None,
            };
            if !percent.is_some_and(|percent| (0.0..=100.0).contains(&percent)) {
                return Err(Failure::new(ErrorKind::ArgumentKind, arg.span, "the percentile of pct must be a number from 0 to 100").hint("for example pct(@duration, 95)"));
            }
        }
        if spec.name == "histogram" && index == 1 && !matches!(arg.kind, ExprKind::Literal(Literal::Integer(buckets)) if buckets > 0) {
            return Err(Failure::new(ErrorKind::ArgumentKind, arg.span, "the bucket count of histogram must be a whole number above 0").hint("for example histogram(latency, 10)"));
        }
        // A nested aggregate is reported as nested (the place stays Aggregation).
        check_expr(arg, place, if aggregate { Some(spec) } else { within })?;
    }
    Ok(())
}

// ---- fields after stats ----

/// "In the second stats command … you can refer only to fields that are
/// defined in the first stats command", and the same holds for every
/// command after a `stats`: only the columns it produced (and those later
/// commands create) exist. Checking stops at a command whose outputs are
/// unknown here (`pattern`, `lookup`, …).
fn check_fields_after_stats(query: &Query) -> Result<(), Failure> {
    let mut available: Option<Vec<String>> = None;
    for command in &query.commands {
        if let Some(known) = &available {
            check_references(command, known)?;
        }
        match &command.kind {
            CommandKind::Stats(stats) => {
                let mut names: Vec<String> = stats.by.iter().chain(&stats.aggregations).map(Projection::output_name).collect();
                // A time bin stands for @timestamp (AWS sample queries sort
                // by @timestamp after `stats … by bin(…)`).
                if stats.by.iter().any(|item| item.alias.is_none() && matches!(&item.expr.kind, ExprKind::Call { name: "bin", .. })) {
                    names.push("@timestamp".to_string());
                }
                available = Some(names);
            }
            _ => {
                let Some(known) = available.as_mut() else {
                    continue;
                };
                let still_known = match &command.kind {
                    CommandKind::Fields(items) | CommandKind::Display(items) => {
                        known.extend(items.iter().map(Projection::output_name));
                        true
                    }
                    CommandKind::Parse(parse) => match &parse.mode {
                        ParseMode::Glob { aliases, .. } | ParseMode::Logfmt { aliases } | ParseMode::Csv { aliases } if !aliases.is_empty() => {
                            known.extend(aliases.iter().map(|alias| alias.name.clone()));
                            true
                        }
                        ParseMode::Regex { fields, .. } => {
                            known.extend(fields.iter().cloned());
                            true
                        }
                        // logfmt and csv without names create fields from the data.
                        _ => false,
                    },
                    CommandKind::Unnest { into, .. } => {
                        known.push(into.name.clone());
                        true
                    }
                    CommandKind::Filter(_) | CommandKind::FilterIndex(_) | CommandKind::Sort(_) | CommandKind::Limit { .. } | CommandKind::Dedup(_) | CommandKind::Unmask => true,
                    _ => false,
                };
                if !still_known {
                    available = None;
                }
            }
        }
    }
    Ok(())
}

fn check_references(command: &Command, known: &[String]) -> Result<(), Failure> {
    let mut exprs: Vec<&Expr> = Vec::new();
    let mut stats_aliases: Vec<(usize, String)> = Vec::new();
    match &command.kind {
        CommandKind::Fields(items) | CommandKind::Display(items) => exprs.extend(items.iter().map(|item| &item.expr)),
        CommandKind::Filter(expr) | CommandKind::FilterIndex(expr) | CommandKind::Pattern(expr) => exprs.push(expr),
        CommandKind::Sort(keys) => exprs.extend(keys.iter().map(|key| &key.expr)),
        CommandKind::Dedup(fields) => exprs.extend(fields),
        CommandKind::Unnest { field, .. } => exprs.push(field),
        CommandKind::Parse(parse) => exprs.push(&parse.source),
        CommandKind::Stats(stats) => {
            for item in &stats.aggregations {
                exprs.push(&item.expr);
                if let Some(alias) = &item.alias {
                    // Later aggregations of the same stats may use the alias.
                    stats_aliases.push((exprs.len(), alias.name.clone()));
                }
            }
            exprs.extend(stats.by.iter().map(|item| &item.expr));
        }
        _ => {}
    }
    for (position, expr) in exprs.iter().enumerate() {
        let mut unknown: Option<(Span, String, bool)> = None;
        expr.walk(&mut |node| {
            if unknown.is_some() {
                return;
            }
            let name = match &node.kind {
                ExprKind::Field(path) => path.name(),
                ExprKind::Call { name: "bin", .. } => "@timestamp".to_string(),
                _ => return,
            };
            let root = match &node.kind {
                ExprKind::Field(path) => path.root().to_string(),
                _ => name.clone(),
            };
            let is_known = |candidate: &str| known.iter().any(|known| known == candidate) || stats_aliases.iter().any(|(from, alias)| *from <= position && alias == candidate);
            if !is_known(&name) && !is_known(&root) {
                unknown = Some((node.span, name, matches!(node.kind, ExprKind::Call { .. })));
            }
        });
        if let Some((span, name, is_bin)) = unknown {
            let mut listed: Vec<&str> = known.iter().map(String::as_str).take(10).collect();
            if known.len() > listed.len() {
                listed.push("…");
            }
            let hint = if is_bin {
                "bin() groups by @timestamp, which the earlier stats does not produce: keep it there with max(@timestamp) as @t, then group by dateceil(@t, 5m)".to_string()
            } else {
                format!("after stats only the fields it produces exist: {}", listed.join(", "))
            };
            return Err(Failure::new(ErrorKind::UnknownField, span, format!("Unknown symbols found in or after stats: {name}")).hint(hint));
        }
    }
    Ok(())
}
