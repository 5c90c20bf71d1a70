//! Composite-alarm rules: the `AlarmRule` of PutCompositeAlarm, parsed once
//! and evaluated against the states of the alarms it names.
//!
//! Spec: PutCompositeAlarm's `AlarmRule`
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>)
//! and "Creating a composite alarm" in the CloudWatch User Guide. A rule
//! combines `ALARM(name)`, `OK(name)`, `INSUFFICIENT_DATA(name)`, `TRUE` and
//! `FALSE` with `NOT`, `AND`, `OR` (binding in that order) and parentheses;
//! a name is an alarm name or ARN, bare or in double quotes. Keywords are
//! upper case, as AWS writes them. The grammar is in `parser.rs`; the
//! decisions where AWS is silent are in `README.md` beside this file.
//!
//! Limits: 10240 characters (the API's length constraint), 100 distinct
//! alarms and 500 elements (the documented "as many as 100 children alarms"
//! and "as many as 500 elements"), parentheses and NOTs 100 deep.
//!
//! This module does no I/O and must never panic on any rule: every refusal
//! is a [`RuleError`] whose message gives a 1-based character position.
//!
//! ```
//! use argus_query::alarm_rule::{self, State};
//!
//! let rule = alarm_rule::parse("(ALARM(Cpu) OR ALARM(Disk)) AND OK(Network)").unwrap();
//! assert_eq!(rule.references(), ["Cpu", "Disk", "Network"]);
//! let evaluation = rule.evaluate(|name| match name {
//!     "Cpu" | "Disk" => Some(State::Alarm),
//!     "Network" => Some(State::Ok),
//!     _ => None,
//! });
//! assert!(evaluation.result);
//! assert_eq!(evaluation.triggering, ["Cpu", "Disk", "Network"]);
//! ```

mod parser;

use std::fmt;

/// The longest rule PutCompositeAlarm accepts, in characters.
pub const MAX_RULE_CHARS: usize = 10_240;

/// The most distinct alarms one rule may name ("The AlarmRule can specify as
/// many as 100 children alarms").
pub const MAX_CHILDREN: usize = 100;

/// The most elements a rule may have ("Elements are child alarms, TRUE or
/// FALSE statements, and parentheses"); a pair of grouping parentheses
/// counts once.
pub const MAX_ELEMENTS: usize = 500;

/// How deep parentheses and NOTs may nest, so that parsing, evaluating and
/// dropping a rule stay well within any thread's stack.
pub const MAX_NESTING: usize = 100;

/// The state of a child alarm, as the rule's functions test it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
}

impl State {
    /// The rule function that tests for this state, which is also the
    /// state's `StateValue` in the API.
    pub fn keyword(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Alarm => "ALARM",
            State::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// `ALARM`, `OK` or `INSUFFICIENT_DATA` (upper case only) as a state.
    pub fn from_keyword(keyword: &str) -> Option<State> {
        match keyword {
            "OK" => Some(State::Ok),
            "ALARM" => Some(State::Alarm),
            "INSUFFICIENT_DATA" => Some(State::InsufficientData),
            _ => None,
        }
    }
}

/// A parsed rule. `Display` writes it back in a canonical form: single
/// spaces, names quoted only when they must be, and every AND/OR group
/// that sits inside another operator in parentheses, so the grouping the
/// parser chose is visible. That text parses to the same rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmRule {
    root: Node,
    /// Every name the rule mentions, in order of first appearance, each once.
    references: Vec<String>,
}

/// The rule as a tree. Chains of AND (or OR) are one node with all their
/// operands; a parenthesised chain inside another stays a separate node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Constant(bool),
    /// `ALARM(x)`, `OK(x)` or `INSUFFICIENT_DATA(x)`: whether the alarm
    /// `references[reference]` is in `state`.
    InState {
        state: State,
        reference: usize,
    },
    Not(Box<Node>),
    All(Vec<Node>),
    Any(Vec<Node>),
}

/// The value of a rule and the alarms that made it true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub result: bool,
    /// When `result` is true: the names whose ALARM/OK/INSUFFICIENT_DATA
    /// test was true and counted towards the result, in order of first
    /// appearance, each once. An AND counts all its operands, an OR only
    /// those that are true, and nothing under a NOT counts (an alarm that
    /// is *not* in a state did not trigger anything). Empty when `result`
    /// is false.
    pub triggering: Vec<String>,
}

/// Why a rule was refused. The message says what is wrong and where
/// ("unexpected `)` at position 17: no `(` is open").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// 1-based character position of the problem; `None` for problems of
    /// the whole rule (empty, too long).
    position: Option<usize>,
    message: String,
}

impl RuleError {
    fn whole_rule(message: String) -> RuleError {
        RuleError { position: None, message }
    }

    /// `problem` at the character with 0-based index `index`, then `rest`
    /// (a hint, or what was found instead).
    fn at(index: usize, problem: &str, rest: &str) -> RuleError {
        let position = index + 1;
        RuleError { position: Some(position), message: format!("{problem} at position {position}{rest}") }
    }

    /// The 1-based character position the message points at, if any. It is
    /// one past the last character when the rule ended too soon.
    pub fn position(&self) -> Option<usize> {
        self.position
    }
}

/// Parses a composite-alarm rule.
pub fn parse(rule: &str) -> Result<AlarmRule, RuleError> {
    let length = rule.chars().count();
    if length > MAX_RULE_CHARS {
        return Err(RuleError::whole_rule(format!("the rule is {length} characters long; the maximum is {MAX_RULE_CHARS}")));
    }
    if rule.trim().is_empty() {
        return Err(RuleError::whole_rule("the rule is empty".into()));
    }
    let parsed = parser::parse_rule(rule)?;
    Ok(AlarmRule { root: parsed.root, references: parsed.references })
}

impl AlarmRule {
    /// Every alarm name or ARN the rule mentions, as written (unquoted), in
    /// order of first appearance, each once.
    pub fn references(&self) -> Vec<&str> {
        self.references.iter().map(String::as_str).collect()
    }

    /// The rule's value when each named alarm is in the state `state_of`
    /// gives (`None`, an unknown alarm, makes its functions false).
    /// `state_of` is called once per distinct name.
    pub fn evaluate(&self, state_of: impl Fn(&str) -> Option<State>) -> Evaluation {
        let states: Vec<Option<State>> = self.references.iter().map(|name| state_of(name)).collect();
        let result = self.root.value(&states);
        if !result {
            return Evaluation { result, triggering: Vec::new() };
        }
        let mut triggered = vec![false; self.references.len()];
        self.root.mark_triggering(&states, &mut triggered);
        let triggering = self.references.iter().zip(&triggered).filter(|(_, triggered)| **triggered).map(|(name, _)| name.clone()).collect();
        Evaluation { result, triggering }
    }
}

impl Node {
    fn value(&self, states: &[Option<State>]) -> bool {
        match self {
            Node::Constant(value) => *value,
            Node::InState { state, reference } => states.get(*reference).copied().flatten() == Some(*state),
            Node::Not(inner) => !inner.value(states),
            Node::All(operands) => operands.iter().all(|operand| operand.value(states)),
            Node::Any(operands) => operands.iter().any(|operand| operand.value(states)),
        }
    }

    /// Marks the references that make this (true) node true; see
    /// [`Evaluation::triggering`].
    fn mark_triggering(&self, states: &[Option<State>], triggered: &mut [bool]) {
        debug_assert!(self.value(states), "only a true node has triggering alarms");
        match self {
            Node::Constant(_) | Node::Not(_) => {}
            Node::InState { reference, .. } => {
                if let Some(mark) = triggered.get_mut(*reference) {
                    *mark = true;
                }
            }
            Node::All(operands) => {
                for operand in operands {
                    operand.mark_triggering(states, triggered);
                }
            }
            Node::Any(operands) => {
                for operand in operands.iter().filter(|operand| operand.value(states)) {
                    operand.mark_triggering(states, triggered);
                }
            }
        }
    }

    fn write(&self, references: &[String], out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Constant(true) => out.write_str("TRUE"),
            Node::Constant(false) => out.write_str("FALSE"),
            Node::InState { state, reference } => {
                let name = references.get(*reference).map_or("", String::as_str);
                write!(out, "{}(", state.keyword())?;
                write_name(name, out)?;
                out.write_str(")")
            }
            Node::Not(inner) => {
                out.write_str("NOT ")?;
                inner.write_operand(references, out)
            }
            Node::All(operands) => Self::write_chain(operands, " AND ", references, out),
            Node::Any(operands) => Self::write_chain(operands, " OR ", references, out),
        }
    }

    fn write_chain(operands: &[Node], operator: &str, references: &[String], out: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, operand) in operands.iter().enumerate() {
            if index > 0 {
                out.write_str(operator)?;
            }
            operand.write_operand(references, out)?;
        }
        Ok(())
    }

    /// Writes the node as an operand of NOT, AND or OR: chains in parentheses.
    fn write_operand(&self, references: &[String], out: &mut fmt::Formatter<'_>) -> fmt::Result {
        if matches!(self, Node::All(_) | Node::Any(_)) {
            out.write_str("(")?;
            self.write(references, out)?;
            return out.write_str(")");
        }
        self.write(references, out)
    }
}

/// A name bare when it can be read back bare, else quoted with `\"` and `\\`.
fn write_name(name: &str, out: &mut fmt::Formatter<'_>) -> fmt::Result {
    let needs_quotes = name.is_empty() || name.chars().any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '"'));
    if !needs_quotes {
        return out.write_str(name);
    }
    out.write_str("\"")?;
    for c in name.chars() {
        if matches!(c, '"' | '\\') {
            out.write_str("\\")?;
        }
        write!(out, "{c}")?;
    }
    out.write_str("\"")
}

impl fmt::Display for AlarmRule {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.write(&self.references, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluate(rule: &str, states: &[(&str, State)]) -> Evaluation {
        let rule = parse(rule).unwrap_or_else(|error| panic!("{rule:?}: {error}"));
        rule.evaluate(|name| states.iter().find(|(known, _)| *known == name).map(|(_, state)| *state))
    }

    #[test]
    fn unknown_alarms_make_every_function_false() {
        for function in ["ALARM", "OK", "INSUFFICIENT_DATA"] {
            assert!(!evaluate(&format!("{function}(gone)"), &[]).result, "{function}");
        }
        assert!(evaluate("NOT ALARM(gone)", &[]).result);
    }

    #[test]
    fn state_of_is_asked_once_per_distinct_name() {
        let rule = parse("ALARM(a) OR OK(a) OR INSUFFICIENT_DATA(a) OR ALARM(b)").expect("parses");
        let asked = std::cell::RefCell::new(Vec::new());
        rule.evaluate(|name| {
            asked.borrow_mut().push(name.to_string());
            None
        });
        assert_eq!(asked.into_inner(), ["a", "b"]);
    }

    #[test]
    fn negated_alarms_never_trigger() {
        let evaluation = evaluate("ALARM(a) AND NOT ALARM(b) AND NOT (OK(c) OR OK(d))", &[("a", State::Alarm), ("b", State::Ok), ("c", State::Alarm)]);
        assert_eq!(evaluation, Evaluation { result: true, triggering: vec!["a".into()] });
    }

    #[test]
    fn double_negation_still_counts_as_negated() {
        // NOT NOT ALARM(a) is true exactly when ALARM(a) is, but the name sits
        // under a NOT, so by the documented rule it does not trigger.
        let evaluation = evaluate("NOT NOT ALARM(a)", &[("a", State::Alarm)]);
        assert_eq!(evaluation, Evaluation { result: true, triggering: Vec::new() });
    }

    #[test]
    fn a_false_result_has_no_triggering_alarms() {
        let evaluation = evaluate("ALARM(a) AND ALARM(b)", &[("a", State::Alarm), ("b", State::Ok)]);
        assert_eq!(evaluation, Evaluation { result: false, triggering: Vec::new() });
    }

    #[test]
    fn triggering_follows_first_appearance_not_evaluation_order() {
        let evaluation = evaluate("(OK(b) AND ALARM(a)) OR ALARM(b)", &[("a", State::Alarm), ("b", State::Ok)]);
        assert_eq!(evaluation.triggering, ["b", "a"]);
    }

    #[test]
    fn display_quotes_only_names_that_need_it() {
        let rule = parse(r#"ALARM("plain") AND OK("two words") AND OK("a(b)") AND OK("say \"x\"") AND OK(back\slash)"#).expect("parses");
        assert_eq!(rule.to_string(), r#"ALARM(plain) AND OK("two words") AND OK("a(b)") AND OK("say \"x\"") AND OK(back\slash)"#);
    }

    #[test]
    fn display_shows_the_grouping() {
        let rule = parse("ALARM(a) OR NOT ALARM(b) AND OK(c) OR (TRUE)").expect("parses");
        assert_eq!(rule.to_string(), "ALARM(a) OR (NOT ALARM(b) AND OK(c)) OR TRUE");
        let rule = parse("NOT (ALARM(a) OR ALARM(b))").expect("parses");
        assert_eq!(rule.to_string(), "NOT (ALARM(a) OR ALARM(b))");
    }

    #[test]
    fn limits_are_enforced() {
        let hundred: Vec<String> = (0..100).map(|index| format!("ALARM(a{index})")).collect();
        assert_eq!(parse(&hundred.join(" OR ")).expect("100 alarms are allowed").references().len(), 100);
        let too_many = format!("{} OR ALARM(a100)", hundred.join(" OR "));
        let error = parse(&too_many).expect_err("101 alarms");
        assert!(error.to_string().contains("at most 100 alarms"), "{error}");
        assert_eq!(error.position(), Some(too_many.len() - 4));
        let repeated = vec!["ALARM(a)"; 501].join(" OR ");
        assert!(parse(&repeated).expect_err("501 elements").to_string().contains("at most 500 elements"));
        assert!(parse(&vec!["TRUE"; 500].join(" OR ")).is_ok());
        let long = format!("ALARM({})", "x".repeat(MAX_RULE_CHARS));
        assert_eq!(parse(&long).expect_err("too long").to_string(), "the rule is 10247 characters long; the maximum is 10240");
    }

    #[test]
    fn whole_rule_errors_have_no_position() {
        let error = parse(" \n\t ").expect_err("blank");
        assert_eq!((error.to_string().as_str(), error.position()), ("the rule is empty", None));
    }
}
