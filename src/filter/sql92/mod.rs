//! [`Sql92Filter`]: compile a selector once, then match it against each message's properties.
//!
//! - [`lexer`]: text -> tokens (JavaCC's longest match, lexical errors where Java meets them).
//! - [`parser`]: tokens -> [`eval::Node`] tree, with Java's construction-time checks.
//! - [`eval`]: the tree against one message's properties, with Java's values and coercions.
//! - [`java_number`]: `Integer`/`Long`/`Double.valueOf` and `Double.compareTo`, which those
//!   coercions apply to property values.

mod eval;
mod java_number;
mod lexer;
mod parser;

use std::sync::Arc;

/// The longest expression [`Sql92Filter::compile`] takes, in bytes.
pub const MAX_EXPRESSION_LEN: usize = 8 * 1024;

/// How deep [`Sql92Filter::compile`] lets an expression nest: parentheses and unary operators
/// around a point, and levels of the compiled tree (an `a = 'x' = TRUE` chain adds one per
/// `=`; an `AND` or `OR` chain adds one in all).
pub const MAX_DEPTH: usize = 100;

/// A compiled SQL92 selector.
#[derive(Debug, Clone)]
pub struct Sql92Filter {
    expression: Arc<str>,
    root: Arc<eval::Node>,
}

/// Why an expression does not compile: Java's `MQFilterException` ("Invalid MessageSelector"),
/// or one of this crate's two limits. Positions are 1-based, columns in characters.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FilterError {
    #[error("SQL92 expression of {len} bytes is longer than the {max}-byte limit")]
    TooLong { len: usize, max: usize },
    #[error("SQL92 expression nests deeper than {max} levels at line {line}, column {column}")]
    TooDeep {
        max: usize,
        line: usize,
        column: usize,
    },
    /// Java's `TokenMgrError`.
    #[error("lexical error at line {line}, column {column}: {what}")]
    Lexical {
        line: usize,
        column: usize,
        what: String,
    },
    /// Java's `ParseException` from the grammar.
    #[error("syntax error at line {line}, column {column}: found {found}, expected {expected}")]
    Syntax {
        line: usize,
        column: usize,
        found: String,
        expected: &'static str,
    },
    /// A check made while Java builds the expression (`asBooleanExpression`,
    /// `checkLessThanOperand`, `checkEqualOperand`, BETWEEN's bounds, a literal's range).
    #[error("invalid SQL92 expression at line {line}, column {column}: {reason}")]
    Invalid {
        line: usize,
        column: usize,
        reason: String,
    },
}

impl Sql92Filter {
    /// Java's `FilterFactory.INSTANCE.get("SQL92").compile(expr)`.
    pub fn compile(expr: &str) -> Result<Sql92Filter, FilterError> {
        if expr.len() > MAX_EXPRESSION_LEN {
            return Err(FilterError::TooLong {
                len: expr.len(),
                max: MAX_EXPRESSION_LEN,
            });
        }
        let root = parser::parse(expr)?;
        Ok(Sql92Filter {
            expression: expr.into(),
            root: Arc::new(root),
        })
    }

    /// Java's `ExpressionMessageFilter.isMatchedByCommitLog` for this expression:
    /// `property(name)` is the message's property (`None` when absent); the message matches
    /// only if the expression evaluates to `TRUE`. `null`, or an exception Java would throw
    /// (such as `'abc'` compared with a number), is no match.
    pub fn matches<'a>(&self, property: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.root.truth(&property) == Ok(Some(true))
    }

    /// The source text, as compiled.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

/// The 1-based line and column (in characters) of byte offset `at` in `src`; `\n`, `\r` and
/// `\r\n` each end a line.
fn position(src: &str, at: usize) -> (usize, usize) {
    let before = &src[..at.min(src.len())];
    let mut line = 1;
    let mut line_start = 0;
    let bytes = before.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let ends_line = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if ends_line {
            line += 1;
            line_start = i + 1;
        }
    }
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests;
