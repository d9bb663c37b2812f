//! The compiled expression tree and its evaluation against one message's properties, with
//! Java's values and coercions (`ComparisonExpression`, `UnaryExpression`, `LogicExpression`,
//! `ComparisonExpression.__compare`).
//!
//! A Java value here is a [`Value`]: `null`, `Boolean`, `Integer`, `Long`, `Double` or
//! `String`. Properties are always `String` (or `null` when absent); numeric literals are
//! `Integer` when they fit, else `Long`, or `Double`. A boolean expression yields `TRUE`,
//! `FALSE` or `null`. A Java exception during evaluation (a `NumberFormatException` from
//! `'abc' = 1`, a `ClassCastException` from `TRUE = a`) is [`Thrown`]: it aborts the whole
//! evaluation, and the broker then counts the message as not matched.
//!
//! Evaluation borrows strings from the tree and the properties and allocates nothing.

use std::cmp::Ordering;

use super::java_number::{compare_double, double_equals, parse_double, parse_int, parse_long};

/// A node of the compiled expression. Each variant is one of Java's expression classes; the
/// parser builds them only in the shapes Java's construction checks allow.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// A string or numeric literal: a plain `ConstantExpression`.
    Literal(Literal),
    /// `TRUE`, `FALSE` or `NULL`: a `BooleanConstantExpression` (`None` is NULL).
    BoolLiteral(Option<bool>),
    /// A property reference: `PropertyExpression`.
    Property(Box<str>),
    /// Unary minus: `UnaryExpression.createNegate`.
    Negate(Box<Node>),
    /// A property used where a boolean is needed: `UnaryExpression.createBooleanCast`.
    /// A property is a `String`, never a `Boolean`, so this is `FALSE`, or `null` when absent.
    BoolCast(Box<str>),
    /// `NOT x`, `x <> y` (as `NOT (x = y)`), `x IS NOT NULL` (as `NOT (x IS NULL)`).
    Not(Box<Node>),
    /// A chain `a AND b AND c`: Java's left-nested `LogicExpression.createAND`, flattened
    /// (same result, same evaluation order, same short cuts).
    And(Box<[Node]>),
    /// A chain `a OR b OR c`, flattened like [`Node::And`].
    Or(Box<[Node]>),
    /// `x = y`: `ComparisonExpression.createEqual`.
    Equal(Box<(Node, Node)>),
    /// `x IS NULL`: `doCreateEqual(x, NULL)`.
    IsNull(Box<Node>),
    /// `x > y` and the like: `createGreaterThan` ... `createLessThanEqual`.
    Compare(Relation, Box<(Node, Node)>),
    /// `x BETWEEN low AND high` is Java's `x >= low AND x <= high`; `NOT BETWEEN` is
    /// `x < low OR x > high`. One node, so `x` is not copied.
    Between {
        negated: bool,
        operands: Box<(Node, Node, Node)>,
    },
    /// `p [NOT] IN ('a', 'b')` on a property: `UnaryExpression.createInExpression`. The list
    /// is sorted for a binary search.
    In {
        property: Box<str>,
        list: Box<[Box<str>]>,
        negated: bool,
    },
    /// `x [NOT] CONTAINS|STARTSWITH|ENDSWITH 's'`.
    Text {
        op: TextOp,
        negated: bool,
        operand: Box<Node>,
        search: Box<str>,
    },
}

/// A string or numeric literal's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Str(Box<str>),
    Int(i32),
    Long(i64),
    Double(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relation {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Relation {
    /// `asBoolean(int answer)` of each comparison class.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Gt => ordering.is_gt(),
            Relation::Ge => ordering.is_ge(),
            Relation::Lt => ordering.is_lt(),
            Relation::Le => ordering.is_le(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl Node {
    /// Java's `BooleanExpression`: what `asBooleanExpression` passes through unchanged.
    pub(super) fn is_boolean(&self) -> bool {
        !matches!(self, Node::Literal(_) | Node::Property(_) | Node::Negate(_))
    }

    /// Java's `ConstantExpression` (literals, including TRUE, FALSE and NULL).
    pub(super) fn is_constant(&self) -> bool {
        matches!(self, Node::Literal(_) | Node::BoolLiteral(_))
    }
}

/// A Java value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value<'v> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'v str),
}

/// A Java exception thrown by the evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Thrown;

type Eval<T> = Result<T, Thrown>;

impl Node {
    /// An AND (`wins` = false) or OR (`wins` = true) chain, left to right as Java evaluates it:
    /// the first side equal to `wins` decides (the rest is not evaluated, so it throws nothing);
    /// otherwise null if any side was null, else `!wins`.
    fn connective<'a, P>(items: &[Node], props: &P, wins: bool) -> Eval<Option<bool>>
    where
        P: Fn(&str) -> Option<&'a str>,
    {
        let mut acc = Some(!wins);
        for item in items {
            match item.truth(props)? {
                Some(b) if b == wins => return Ok(Some(wins)),
                None => acc = None,
                Some(_) => {}
            }
        }
        Ok(acc)
    }

    /// Java's `evaluate(context)` on a boolean expression: `TRUE`, `FALSE` or `null`.
    pub(super) fn truth<'a, P>(&self, props: &P) -> Eval<Option<bool>>
    where
        P: Fn(&str) -> Option<&'a str>,
    {
        Ok(match self {
            Node::BoolLiteral(b) => *b,
            Node::BoolCast(name) => props(name).map(|_| false),
            Node::Not(inner) => inner.truth(props)?.map(|b| !b),
            // createAND: FALSE wins; createOR: TRUE wins; else null if any side is null.
            Node::And(items) => Self::connective(items, props, false)?,
            Node::Or(items) => Self::connective(items, props, true)?,
            Node::Equal(operands) => {
                let left = operands.0.value(props)?;
                let right = operands.1.value(props)?;
                equal(left, right)?
            }
            Node::IsNull(inner) => Some(inner.value(props)? == Value::Null),
            Node::Compare(relation, operands) => {
                let left = operands.0.value(props)?;
                compare(*relation, left, &operands.1, props)?
            }
            Node::Between { negated, operands } => {
                let (value, low, high) = &**operands;
                let value = value.value(props)?;
                if *negated {
                    match compare(Relation::Lt, value, low, props)? {
                        Some(true) => Some(true),
                        first => match (first, compare(Relation::Gt, value, high, props)?) {
                            (_, Some(true)) => Some(true),
                            (None, _) | (_, None) => None,
                            _ => Some(false),
                        },
                    }
                } else {
                    match compare(Relation::Ge, value, low, props)? {
                        Some(false) => Some(false),
                        first => match (first, compare(Relation::Le, value, high, props)?) {
                            (_, Some(false)) => Some(false),
                            (None, _) | (_, None) => None,
                            _ => Some(true),
                        },
                    }
                }
            }
            Node::In {
                property,
                list,
                negated,
            } => props(property).map(|value| {
                let found = list.binary_search_by(|item| (**item).cmp(value)).is_ok();
                found != *negated
            }),
            Node::Text {
                op,
                negated,
                operand,
                search,
            } => {
                if search.is_empty() {
                    // Java answers FALSE before looking at the operand, NOT forms included.
                    return Ok(Some(false));
                }
                match operand.value(props)? {
                    Value::Str(s) => {
                        let found = match op {
                            TextOp::Contains => s.contains(&**search),
                            TextOp::StartsWith => s.starts_with(&**search),
                            TextOp::EndsWith => s.ends_with(&**search),
                        };
                        Some(found != *negated)
                    }
                    // null or not a String: FALSE, NOT forms included.
                    _ => Some(false),
                }
            }
            // Not boolean expressions; the parser never puts them here. Java's `(Boolean)` cast.
            Node::Literal(_) | Node::Property(_) | Node::Negate(_) => match self.value(props)? {
                Value::Null => None,
                Value::Bool(b) => Some(b),
                _ => return Err(Thrown),
            },
        })
    }

    /// Java's `evaluate(context)`: the node's value.
    fn value<'v, 'a: 'v, P>(&'v self, props: &P) -> Eval<Value<'v>>
    where
        P: Fn(&str) -> Option<&'a str>,
    {
        Ok(match self {
            Node::Literal(Literal::Str(s)) => Value::Str(s),
            Node::Literal(Literal::Int(i)) => Value::Int(*i),
            Node::Literal(Literal::Long(l)) => Value::Long(*l),
            Node::Literal(Literal::Double(d)) => Value::Double(*d),
            Node::Property(name) => props(name).map_or(Value::Null, Value::Str),
            Node::Negate(inner) => match inner.value(props)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Long(l) => Value::Long(l.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                // null, or not a Number.
                _ => Value::Null,
            },
            _ => self.truth(props)?.map_or(Value::Null, Value::Bool),
        })
    }
}

/// `doCreateEqual(...).evaluate`, after both sides are evaluated.
fn equal(left: Value<'_>, right: Value<'_>) -> Eval<Option<bool>> {
    Ok(match (left, right) {
        (Value::Null, Value::Null) => Some(true), // `lv == rv`
        (Value::Null, _) => None,
        (_, Value::Null) => Some(false),
        _ if java_equals(left, right) => Some(true),
        _ => Some(java_compare(left, right)?.is_eq()),
    })
}

/// `ComparisonExpression.evaluate` for `>`, `>=`, `<`, `<=`: the left side is already
/// evaluated; the right one is evaluated only if the left is not null.
fn compare<'a, P>(
    relation: Relation,
    left: Value<'_>,
    right: &Node,
    props: &P,
) -> Eval<Option<bool>>
where
    P: Fn(&str) -> Option<&'a str>,
{
    if left == Value::Null {
        return Ok(None);
    }
    let right = right.value(props)?;
    let ordering = match (left, right) {
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        // Two strings are compared as doubles, or the comparison throws.
        (Value::Str(l), Value::Str(r)) => {
            let l = parse_double(l).ok_or(Thrown)?;
            let r = parse_double(r).ok_or(Thrown)?;
            compare_double(l, r)
        }
        _ => java_compare(left, right)?,
    };
    Ok(Some(relation.holds(ordering)))
}

/// `lv.equals(rv)`: same class and same value.
fn java_equals(left: Value<'_>, right: Value<'_>) -> bool {
    match (left, right) {
        (Value::Bool(l), Value::Bool(r)) => l == r,
        (Value::Int(l), Value::Int(r)) => l == r,
        (Value::Long(l), Value::Long(r)) => l == r,
        (Value::Double(l), Value::Double(r)) => double_equals(l, r),
        (Value::Str(l), Value::Str(r)) => l == r,
        _ => false,
    }
}

/// `ComparisonExpression.__compare(lv, rv, true)`: converts the right side to the left one's
/// class (or the narrower number up), parsing a string with `valueOf` of the other side's
/// class; `-1` when there is no conversion; an exception when the parse fails.
pub(super) fn java_compare(left: Value<'_>, right: Value<'_>) -> Eval<Ordering> {
    use Value::*;
    let less = Ordering::Less; // Java's `return -1` for classes it cannot convert
    Ok(match (left, right) {
        (Null, _) | (_, Null) => return Err(Thrown),
        (Bool(l), Bool(r)) => l.cmp(&r),
        // `lv = Boolean.valueOf((String) lv)` casts the Boolean itself: ClassCastException.
        (Bool(_), Str(_)) => return Err(Thrown),
        (Bool(_), _) => less,
        (Int(l), Int(r)) => l.cmp(&r),
        (Int(l), Long(r)) => i64::from(l).cmp(&r),
        (Int(l), Double(r)) => compare_double(f64::from(l), r),
        (Int(l), Str(r)) => l.cmp(&parse_int(r).ok_or(Thrown)?),
        (Int(_), Bool(_)) => less,
        (Long(l), Int(r)) => l.cmp(&i64::from(r)),
        (Long(l), Long(r)) => l.cmp(&r),
        (Long(l), Double(r)) => compare_double(l as f64, r),
        (Long(l), Str(r)) => l.cmp(&parse_long(r).ok_or(Thrown)?),
        (Long(_), Bool(_)) => less,
        (Double(l), Int(r)) => compare_double(l, f64::from(r)),
        (Double(l), Long(r)) => compare_double(l, r as f64),
        (Double(l), Double(r)) => compare_double(l, r),
        (Double(l), Str(r)) => compare_double(l, parse_double(r).ok_or(Thrown)?),
        (Double(_), Bool(_)) => less,
        // Boolean.valueOf(String): "true" in any case is true, anything else false.
        (Str(l), Bool(r)) => l.eq_ignore_ascii_case("true").cmp(&r),
        (Str(l), Int(r)) => parse_int(l).ok_or(Thrown)?.cmp(&r),
        (Str(l), Long(r)) => parse_long(l).ok_or(Thrown)?.cmp(&r),
        (Str(l), Double(r)) => compare_double(parse_double(l).ok_or(Thrown)?, r),
        // Only the sign's zero-ness is ever used for two strings (in `=`).
        (Str(l), Str(r)) => l.cmp(r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Value::*;

    #[test]
    fn compare_converts_like_java() {
        let cases: &[(Value, Value, Option<Ordering>)] = &[
            (Int(1), Long(1), Some(Ordering::Equal)),
            (Long(3_000_000_000), Int(1), Some(Ordering::Greater)),
            (Int(1), Double(1.5), Some(Ordering::Less)),
            (
                Long(9_007_199_254_740_993),
                Double(9_007_199_254_740_992.0),
                Some(Ordering::Equal),
            ),
            (Str("01"), Int(1), Some(Ordering::Equal)),
            (Str(" 1"), Int(1), None),
            (Str("1.5"), Int(1), None),
            (Str("3000000000"), Int(1), None),
            (Str("3000000000"), Long(1), Some(Ordering::Greater)),
            (Str(" 1.5 "), Double(1.5), Some(Ordering::Equal)),
            (Str("NaN"), Double(1.0), Some(Ordering::Greater)),
            (Str("TRUE"), Bool(true), Some(Ordering::Equal)),
            (Str("yes"), Bool(true), Some(Ordering::Less)),
            (Bool(true), Str("true"), None),
            (Bool(true), Int(1), Some(Ordering::Less)),
            (Int(1), Bool(true), Some(Ordering::Less)),
            (Double(0.0), Double(-0.0), Some(Ordering::Greater)),
        ];
        for &(l, r, want) in cases {
            assert_eq!(java_compare(l, r).ok(), want, "{l:?} vs {r:?}");
        }
    }

    #[test]
    fn equal_is_asymmetric_in_null() {
        assert_eq!(equal(Null, Null), Ok(Some(true)));
        assert_eq!(equal(Null, Str("x")), Ok(None));
        assert_eq!(equal(Str("x"), Null), Ok(Some(false)));
        assert_eq!(equal(Double(f64::NAN), Double(f64::NAN)), Ok(Some(true)));
        assert_eq!(equal(Str("abc"), Int(1)), Err(Thrown));
    }
}
