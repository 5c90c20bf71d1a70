//! Parses a metric math expression into a tree.
//!
//! AWS documents the operators but not their precedence; this grammar uses
//! the usual mathematical one, loosest first:
//!
//! ```text
//! expression := or
//! or         := and (("OR" | "||") and)*
//! and        := comparison (("AND" | "&&") comparison)*
//! comparison := additive (("==" | "!=" | "<=" | ">=" | "<" | ">") additive)*
//! additive   := term (("+" | "-") term)*
//! term       := unary (("*" | "/") unary)*
//! unary      := "-" unary | power
//! power      := primary ("^" unary)?              (right-associative: -2^2 = -4, 2^-1 = 0.5)
//! primary    := number | id | string | KEYWORD
//!             | NAME "(" [expression ("," expression)*] ")"
//!             | "(" expression ")"
//!             | "[" expression ("," expression)* "]"
//! ```
//!
//! Keywords (`REPEAT`, `LINEAR`, `AVG`, `ASC`, …) are parsed wherever a
//! primary may stand; the function that receives one decides whether it is
//! allowed there.

use super::error::{MAX_NESTING, MathError};
use super::lexer::{Spanned, Token, tokenize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Power,
    Equal,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Less,
    Greater,
    And,
    Or,
}

impl BinaryOp {
    /// Comparison and logical operators treat a missing datapoint as 0 and
    /// produce 0/1; arithmetic needs a datapoint on both sides.
    pub(crate) fn is_comparison_or_logical(self) -> bool {
        !matches!(self, BinaryOp::Add | BinaryOp::Subtract | BinaryOp::Multiply | BinaryOp::Divide | BinaryOp::Power)
    }

    /// The operator applied to two numbers; NaN where the result is undefined
    /// (division by zero included: AWS drops such datapoints).
    pub(crate) fn apply(self, left: f64, right: f64) -> f64 {
        let truth = |flag: bool| if flag { 1.0 } else { 0.0 };
        match self {
            BinaryOp::Add => left + right,
            BinaryOp::Subtract => left - right,
            BinaryOp::Multiply => left * right,
            BinaryOp::Divide if right == 0.0 => f64::NAN,
            BinaryOp::Divide => left / right,
            BinaryOp::Power => left.powf(right),
            BinaryOp::Equal => truth(left == right),
            BinaryOp::NotEqual => truth(left != right),
            BinaryOp::LessEqual => truth(left <= right),
            BinaryOp::GreaterEqual => truth(left >= right),
            BinaryOp::Less => truth(left < right),
            BinaryOp::Greater => truth(left > right),
            BinaryOp::And => truth(left != 0.0 && right != 0.0),
            BinaryOp::Or => truth(left != 0.0 || right != 0.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Number(f64),
    Id(String),
    Str(String),
    /// An uppercase word that is not called: `REPEAT`, `AVG` in `SORT`, …
    Keyword(String),
    Negate(Box<Expr>),
    Binary { op: BinaryOp, left: Box<Expr>, right: Box<Expr> },
    Call { name: String, args: Vec<Expr> },
    Array(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub node: Node,
    /// 1-based character position where this part of the expression starts
    /// (for a binary operation: the operator's position).
    pub position: usize,
}

pub(crate) fn parse(text: &str) -> Result<Expr, MathError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, index: 0, depth: 0 };
    if matches!(parser.peek().token, Token::End) {
        return Err(MathError::syntax(1, "the expression is empty"));
    }
    let expr = parser.expression()?;
    let next = parser.peek();
    if !matches!(next.token, Token::End) {
        let problem = match next.token {
            Token::RParen => "unexpected `)` with no matching `(`".to_string(),
            Token::RBracket => "unexpected `]` with no matching `[`".to_string(),
            ref other => format!("unexpected {} after a complete expression; an operator is missing", other.describe()),
        };
        return Err(MathError::syntax(next.position, problem));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Spanned>,
    index: usize,
    depth: usize,
}

const END: Spanned = Spanned { token: Token::End, position: 0 };

impl Parser {
    fn peek(&self) -> &Spanned {
        self.tokens.get(self.index).or_else(|| self.tokens.last()).unwrap_or(&END)
    }

    fn advance(&mut self) -> Spanned {
        let token = self.peek().clone();
        if self.index < self.tokens.len() {
            self.index += 1;
        }
        token
    }

    fn enter(&mut self, position: usize) -> Result<(), MathError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(MathError::syntax(position, format!("the expression nests more than {MAX_NESTING} levels deep")));
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Expr, MathError> {
        self.or()
    }

    fn or(&mut self) -> Result<Expr, MathError> {
        let mut left = self.and()?;
        loop {
            let next = self.peek();
            let is_or = matches!(&next.token, Token::OrOr) || matches!(&next.token, Token::Word(word) if word == "OR");
            if !is_or {
                return Ok(left);
            }
            let position = self.advance().position;
            let right = self.and()?;
            left = binary(BinaryOp::Or, left, right, position);
        }
    }

    fn and(&mut self) -> Result<Expr, MathError> {
        let mut left = self.comparison()?;
        loop {
            let next = self.peek();
            let is_and = matches!(&next.token, Token::AndAnd) || matches!(&next.token, Token::Word(word) if word == "AND");
            if !is_and {
                return Ok(left);
            }
            let position = self.advance().position;
            let right = self.comparison()?;
            left = binary(BinaryOp::And, left, right, position);
        }
    }

    fn comparison(&mut self) -> Result<Expr, MathError> {
        let mut left = self.additive()?;
        loop {
            let op = match self.peek().token {
                Token::EqEq => BinaryOp::Equal,
                Token::NotEq => BinaryOp::NotEqual,
                Token::LessEq => BinaryOp::LessEqual,
                Token::GreaterEq => BinaryOp::GreaterEqual,
                Token::Less => BinaryOp::Less,
                Token::Greater => BinaryOp::Greater,
                _ => return Ok(left),
            };
            let position = self.advance().position;
            let right = self.additive()?;
            left = binary(op, left, right, position);
        }
    }

    fn additive(&mut self) -> Result<Expr, MathError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek().token {
                Token::Plus => BinaryOp::Add,
                Token::Minus => BinaryOp::Subtract,
                _ => return Ok(left),
            };
            let position = self.advance().position;
            let right = self.term()?;
            left = binary(op, left, right, position);
        }
    }

    fn term(&mut self) -> Result<Expr, MathError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().token {
                Token::Star => BinaryOp::Multiply,
                Token::Slash => BinaryOp::Divide,
                _ => return Ok(left),
            };
            let position = self.advance().position;
            let right = self.unary()?;
            left = binary(op, left, right, position);
        }
    }

    fn unary(&mut self) -> Result<Expr, MathError> {
        if !matches!(self.peek().token, Token::Minus) {
            return self.power();
        }
        let position = self.advance().position;
        self.enter(position)?;
        let operand = self.unary()?;
        self.depth -= 1;
        Ok(Expr { node: Node::Negate(Box::new(operand)), position })
    }

    fn power(&mut self) -> Result<Expr, MathError> {
        let base = self.primary()?;
        if !matches!(self.peek().token, Token::Caret) {
            return Ok(base);
        }
        let position = self.advance().position;
        self.enter(position)?;
        let exponent = self.unary()?;
        self.depth -= 1;
        Ok(binary(BinaryOp::Power, base, exponent, position))
    }

    fn primary(&mut self) -> Result<Expr, MathError> {
        let Spanned { token, position } = self.advance();
        let node = match token {
            Token::Number(number) => Node::Number(number),
            Token::Id(id) => {
                if matches!(self.peek().token, Token::LParen) {
                    let hint = format!("; function names are uppercase (`{}`)", id.to_ascii_uppercase());
                    return Err(MathError::UnknownFunction { name: id, position, hint });
                }
                Node::Id(id)
            }
            Token::Str(text) => Node::Str(text),
            Token::Word(word) if word == "NOT" => {
                return Err(MathError::syntax(position, "metric math has no NOT operator; compare with 0 instead, e.g. (m1 == 0)"));
            }
            Token::Word(word) if word == "AND" || word == "OR" => {
                return Err(MathError::syntax(position, format!("`{word}` needs an operand on its left")));
            }
            Token::Word(word) => {
                if !matches!(self.peek().token, Token::LParen) {
                    return Ok(Expr { node: Node::Keyword(word), position });
                }
                self.advance();
                self.enter(position)?;
                let args = self.list(Token::RParen, position, "(")?;
                self.depth -= 1;
                Node::Call { name: word, args }
            }
            Token::LParen => {
                self.enter(position)?;
                let inner = self.expression()?;
                self.expect_closing(Token::RParen, position, "(")?;
                self.depth -= 1;
                return Ok(inner);
            }
            Token::LBracket => {
                self.enter(position)?;
                let items = self.list(Token::RBracket, position, "[")?;
                self.depth -= 1;
                if items.is_empty() {
                    return Err(MathError::syntax(position, "an array needs at least one element: [m1, m2]"));
                }
                Node::Array(items)
            }
            Token::End => return Err(MathError::syntax(position, "the expression ends where an operand is expected")),
            other => return Err(MathError::syntax(position, format!("unexpected {} where an operand is expected", other.describe()))),
        };
        Ok(Expr { node, position })
    }

    /// Comma-separated expressions up to `closing` (already past the opener).
    fn list(&mut self, closing: Token, opened_at: usize, opener: &str) -> Result<Vec<Expr>, MathError> {
        let mut items = Vec::new();
        if self.peek().token == closing {
            self.advance();
            return Ok(items);
        }
        loop {
            items.push(self.expression()?);
            if matches!(self.peek().token, Token::Comma) {
                self.advance();
                continue;
            }
            self.expect_closing(closing, opened_at, opener)?;
            return Ok(items);
        }
    }

    fn expect_closing(&mut self, closing: Token, opened_at: usize, opener: &str) -> Result<(), MathError> {
        let next = self.advance();
        if next.token == closing {
            return Ok(());
        }
        let wanted = closing.describe();
        let problem = match next.token {
            Token::End => format!("the `{opener}` at character {opened_at} is not closed; add {wanted}"),
            other => format!("expected {wanted} to close the `{opener}` at character {opened_at}, found {}", other.describe()),
        };
        Err(MathError::syntax(next.position, problem))
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr, position: usize) -> Expr {
    Expr { node: Node::Binary { op, left: Box::new(left), right: Box::new(right) }, position }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree in prefix notation, to check precedence.
    fn shape(expr: &Expr) -> String {
        match &expr.node {
            Node::Number(number) => number.to_string(),
            Node::Id(id) => id.clone(),
            Node::Str(text) => format!("{text:?}"),
            Node::Keyword(word) => word.clone(),
            Node::Negate(inner) => format!("(neg {})", shape(inner)),
            Node::Binary { op, left, right } => format!("({op:?} {} {})", shape(left), shape(right)),
            Node::Call { name, args } => format!("{name}({})", args.iter().map(shape).collect::<Vec<_>>().join(", ")),
            Node::Array(items) => format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(", ")),
        }
    }

    fn parsed(text: &str) -> String {
        shape(&parse(text).expect("parses"))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(parsed("1 + 2 * 3"), "(Add 1 (Multiply 2 3))");
        assert_eq!(parsed("1 - 2 - 3"), "(Subtract (Subtract 1 2) 3)");
        assert_eq!(parsed("-2 ^ 2"), "(neg (Power 2 2))");
        assert_eq!(parsed("2 ^ 3 ^ 2"), "(Power 2 (Power 3 2))");
        assert_eq!(parsed("2 ^ -1"), "(Power 2 (neg 1))");
        assert_eq!(parsed("m1 > 1 AND m2 < 2 || m3"), "(Or (And (Greater m1 1) (Less m2 2)) m3)");
        assert_eq!(parsed("-[m1, m2]"), "(neg [m1, m2])");
        assert_eq!(parsed("SORT(METRICS(), AVG, DESC, 2)"), "SORT(METRICS(), AVG, DESC, 2)");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("", "character 1: the expression is empty"),
            ("m1 +", "character 5: the expression ends where an operand is expected"),
            ("(m1 + m2", "character 9: the `(` at character 1 is not closed; add `)`"),
            ("m1 m2", "character 4: unexpected id `m2` after a complete expression"),
            ("m1)", "character 3: unexpected `)` with no matching `(`"),
            ("AVG(m1, )", "character 9: unexpected `)` where an operand is expected"),
            ("[]", "character 1: an array needs at least one element"),
            ("AND m1", "character 1: `AND` needs an operand on its left"),
        ];
        for (text, expected) in cases {
            let message = parse(text).expect_err(text).to_string();
            assert!(message.contains(expected), "{text:?}: {message}");
        }
        let message = parse("avg(m1)").expect_err("lowercase function").to_string();
        assert_eq!(message, "unknown function `avg` at character 1; function names are uppercase (`AVG`)");
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!("{}m1{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).expect_err("too deep").to_string().contains("nests more than"));
        let negations = format!("{}m1", "-".repeat(500));
        assert!(parse(&negations).is_err());
        let fine = format!("{}m1{}", "(".repeat(60), ")".repeat(60));
        assert!(parse(&fine).is_ok());
    }
}
