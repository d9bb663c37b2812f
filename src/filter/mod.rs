//! Message filtering by SQL92 expression: what a consumer asks for with
//! `MessageSelector.bySql("a > 5 AND b = 'x'")` (subscription expression type `SQL92`).
//!
//! In RocketMQ the broker compiles the expression once per subscription
//! (`FilterFactory.INSTANCE.get("SQL92").compile(expr)`, module `rocketmq-filter`) and, on the
//! pull path, evaluates it against each candidate message's user properties
//! (`ExpressionMessageFilter.isMatchedByCommitLog` with a `MessageEvaluationContext`): a
//! message is delivered only if the expression evaluates to `TRUE`. A missing property is
//! `null`, every present one is a Java `String`, and the expression's result is three-valued:
//! `null` (unknown), an exception or a non-boolean all mean "not matched".
//!
//! [`Sql92Filter`] is that compile and that evaluation. The rules are Java's, release
//! 5.3.3, read from `filter/src/main/java/org/apache/rocketmq/filter/`: the grammar of
//! `parser/SelectorParser.jj` (as generated into `SelectorParser.java`, which is what runs),
//! the construction-time checks and the runtime coercions of `expression/ComparisonExpression`,
//! `UnaryExpression`, `LogicExpression` and `ConstantExpression`, and the number parsing of
//! `Integer.valueOf`, `Long.valueOf` and `Double.valueOf` that those coercions call on property
//! values. `src/filter/sql92/java-cases.txt` holds several thousand expressions with Java's
//! own answers (produced by `tests/java-filter/CrossCheck.java`), replayed by a unit test.
//!
//! Why no parser crate: the language is not standard SQL but ActiveMQ's JMS selector as
//! RocketMQ cut it down, and the parts that decide matches are its own (a `--` comment needs a
//! newline, `0.0` is rejected, the text after a complete expression is ignored, `'1' = 1` parses
//! the string as a Java `int`). A hand-written lexer and recursive-descent parser keep each of
//! those rules in one visible place, next to the Java line it copies.
//!
//! Two deliberate differences, both limits: an expression longer than
//! [`MAX_EXPRESSION_LEN`] bytes or nested deeper than [`MAX_DEPTH`] levels is rejected (Java
//! has no limit short of its thread stack), so a hostile subscription cannot exhaust the
//! broker's stack or memory.

mod sql92;

pub use sql92::{FilterError, Sql92Filter, MAX_DEPTH, MAX_EXPRESSION_LEN};
