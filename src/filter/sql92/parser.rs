//! Recursive descent over `SelectorParser.jj`'s grammar, with the checks Java's expression
//! constructors make while the tree is built (each a compile error there, so here too):
//!
//! ```text
//! selector   := or                                   (must be boolean, see as_boolean)
//! or         := and ( OR and )*
//! and        := equality ( AND equality )*
//! equality   := comparison ( "=" comparison | "<>" comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( (">" | ">=" | "<" | "<=") unary
//!                     | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN "(" string ( "," string )* ")" )*
//! unary      := "+" unary | "-" unary | NOT unary | primary
//! primary    := string | decimal | float | TRUE | FALSE | NULL | identifier | "(" or ")"
//! ```
//!
//! Java's parser stops after the first complete expression and never asks for end of input,
//! so `a = 1 b c` compiles as `a = 1`, while `a = 1 #` fails (the token after the expression
//! is read to decide that the expression ended) and `a = 1 NOT b` fails (NOT starts a
//! comparison operator). This parser reads exactly the tokens Java's reads.

use super::eval::{Literal, Node, Relation, TextOp};
use super::lexer::{tokenize, Kind, Token};
use super::{position, FilterError, MAX_DEPTH};

/// Parses a whole selector into the tree [`Node::truth`](super::eval::Node::truth) evaluates.
pub(super) fn parse(src: &str) -> Result<Node, FilterError> {
    let (tokens, lexical_error) = tokenize(src);
    let mut parser = Parser {
        src,
        tokens,
        lexical_error,
        next: 0,
        nesting: 0,
    };
    let top = parser.or()?;
    Ok(parser.as_boolean(top)?.node)
}

/// A subtree with what the checks and the depth limit need to know about it.
struct Parsed {
    node: Node,
    /// Levels of nodes, a leaf being 1.
    depth: usize,
    /// Byte offset of its first token, for error messages.
    at: usize,
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token<'s>>,
    /// Where the tokens stop early: raised when the parser reaches it, as Java raises it.
    lexical_error: Option<FilterError>,
    next: usize,
    /// Parentheses and unary operators open around the current position.
    nesting: usize,
}

impl<'s> Parser<'s> {
    /// The token `ahead` places past the next one.
    fn peek(&self, ahead: usize) -> Result<Token<'s>, FilterError> {
        if let Some(token) = self.tokens.get(self.next + ahead) {
            return Ok(*token);
        }
        if let Some(error) = &self.lexical_error {
            return Err(error.clone());
        }
        // Past the end, JavaCC keeps answering Eof.
        Ok(Token {
            kind: Kind::Eof,
            text: "",
            at: self.src.len(),
        })
    }

    fn kind(&self, ahead: usize) -> Result<Kind, FilterError> {
        Ok(self.peek(ahead)?.kind)
    }

    /// Moves past the token [`Self::peek`] just returned.
    fn bump(&mut self) {
        self.next += 1;
    }

    fn expect(&mut self, kind: Kind, expected: &'static str) -> Result<Token<'s>, FilterError> {
        let token = self.peek(0)?;
        if token.kind != kind {
            return Err(self.syntax(token, expected));
        }
        self.bump();
        Ok(token)
    }

    fn syntax(&self, token: Token<'_>, expected: &'static str) -> FilterError {
        let (line, column) = position(self.src, token.at);
        let found = match token.kind {
            Kind::Eof => "end of expression".to_string(),
            _ => format!("{:?}", shorten(token.text)),
        };
        FilterError::Syntax {
            line,
            column,
            found,
            expected,
        }
    }

    fn invalid(&self, at: usize, reason: impl Into<String>) -> FilterError {
        let (line, column) = position(self.src, at);
        FilterError::Invalid {
            line,
            column,
            reason: reason.into(),
        }
    }

    /// A new node over children of depth `below`, refused past [`MAX_DEPTH`].
    fn node(&self, node: Node, below: usize, at: usize) -> Result<Parsed, FilterError> {
        let depth = below + 1;
        if depth > MAX_DEPTH {
            return Err(self.too_deep(at));
        }
        Ok(Parsed { node, depth, at })
    }

    fn too_deep(&self, at: usize) -> FilterError {
        let (line, column) = position(self.src, at);
        FilterError::TooDeep {
            max: MAX_DEPTH,
            line,
            column,
        }
    }

    /// Runs `f` one nesting level deeper (a parenthesis or a unary operator's operand).
    fn nested<T>(
        &mut self,
        at: usize,
        f: impl FnOnce(&mut Self) -> Result<T, FilterError>,
    ) -> Result<T, FilterError> {
        if self.nesting >= MAX_DEPTH {
            return Err(self.too_deep(at));
        }
        self.nesting += 1;
        let result = f(self);
        self.nesting -= 1;
        result
    }

    /// `asBooleanExpression`: a boolean expression as is, a property cast to boolean,
    /// anything else an error.
    fn as_boolean(&self, parsed: Parsed) -> Result<Parsed, FilterError> {
        match parsed.node {
            Node::Property(name) => Ok(Parsed {
                node: Node::BoolCast(name),
                ..parsed
            }),
            ref node if node.is_boolean() => Ok(parsed),
            _ => Err(self.invalid(parsed.at, "expression will not result in a boolean value")),
        }
    }

    fn or(&mut self) -> Result<Parsed, FilterError> {
        let first = self.and()?;
        self.chain(first, Kind::Or, Self::and, Node::Or)
    }

    fn and(&mut self) -> Result<Parsed, FilterError> {
        let first = self.equality()?;
        self.chain(first, Kind::And, Self::equality, Node::And)
    }

    /// `first (OP operand)*` as one flattened AND or OR node over boolean operands.
    fn chain(
        &mut self,
        first: Parsed,
        op: Kind,
        operand: fn(&mut Self) -> Result<Parsed, FilterError>,
        build: fn(Box<[Node]>) -> Node,
    ) -> Result<Parsed, FilterError> {
        if self.kind(0)? != op {
            return Ok(first);
        }
        let at = first.at;
        let first = self.as_boolean(first)?;
        let mut depth = first.depth;
        let mut items = vec![first.node];
        while self.kind(0)? == op {
            self.bump();
            let next = operand(self)?;
            let next = self.as_boolean(next)?;
            depth = depth.max(next.depth);
            items.push(next.node);
        }
        self.node(build(items.into_boxed_slice()), depth, at)
    }

    fn equality(&mut self) -> Result<Parsed, FilterError> {
        let mut left = self.comparison()?;
        loop {
            left = match self.kind(0)? {
                Kind::Eq => {
                    self.bump();
                    let right = self.comparison()?;
                    self.equal(left, right)?
                }
                Kind::Ne => {
                    self.bump();
                    let right = self.comparison()?;
                    let equal = self.equal(left, right)?;
                    self.node(Node::Not(Box::new(equal.node)), equal.depth, equal.at)?
                }
                Kind::Is if self.kind(1)? == Kind::Null => {
                    self.bump();
                    self.bump();
                    self.node(Node::IsNull(Box::new(left.node)), left.depth, left.at)?
                }
                Kind::Is => {
                    self.bump();
                    self.expect(Kind::Not, "NULL or NOT NULL after IS")?;
                    self.expect(Kind::Null, "NULL after IS NOT")?;
                    let is_null = Node::IsNull(Box::new(left.node));
                    self.node(Node::Not(Box::new(is_null)), left.depth + 1, left.at)?
                }
                _ => return Ok(left),
            };
        }
    }

    /// `ComparisonExpression.createEqual`: NULL cannot be an operand (use IS NULL), and TRUE
    /// or FALSE cannot be compared with a string or number literal on its right.
    fn equal(&self, left: Parsed, right: Parsed) -> Result<Parsed, FilterError> {
        for operand in [&left, &right] {
            if operand.node == Node::BoolLiteral(None) {
                return Err(self.invalid(
                    operand.at,
                    "NULL cannot be compared with = or <>; use IS NULL",
                ));
            }
        }
        if matches!(left.node, Node::BoolLiteral(_)) && matches!(right.node, Node::Literal(_)) {
            return Err(self.invalid(
                left.at,
                "TRUE or FALSE cannot be compared with a string or number literal",
            ));
        }
        let depth = left.depth.max(right.depth);
        self.node(
            Node::Equal(Box::new((left.node, right.node))),
            depth,
            left.at,
        )
    }

    fn comparison(&mut self) -> Result<Parsed, FilterError> {
        let mut left = self.unary()?;
        loop {
            let kind = self.kind(0)?;
            let (negated, op) = match kind {
                Kind::Not => (true, self.kind(1)?),
                _ => (false, kind),
            };
            left = match op {
                Kind::Gt | Kind::Ge | Kind::Lt | Kind::Le if !negated => {
                    self.bump();
                    let right = self.unary()?;
                    let relation = match op {
                        Kind::Gt => Relation::Gt,
                        Kind::Ge => Relation::Ge,
                        Kind::Lt => Relation::Lt,
                        _ => Relation::Le,
                    };
                    self.relational(&left)?;
                    self.relational(&right)?;
                    let depth = left.depth.max(right.depth);
                    let operands = Box::new((left.node, right.node));
                    self.node(Node::Compare(relation, operands), depth, left.at)?
                }
                Kind::Contains | Kind::StartsWith | Kind::EndsWith => {
                    self.next += 1 + usize::from(negated);
                    let search = self.string()?;
                    let op = match op {
                        Kind::Contains => TextOp::Contains,
                        Kind::StartsWith => TextOp::StartsWith,
                        _ => TextOp::EndsWith,
                    };
                    let node = Node::Text {
                        op,
                        negated,
                        operand: Box::new(left.node),
                        search,
                    };
                    self.node(node, left.depth, left.at)?
                }
                Kind::Between => {
                    self.next += 1 + usize::from(negated);
                    let low = self.unary()?;
                    self.expect(Kind::And, "AND between BETWEEN's bounds")?;
                    let high = self.unary()?;
                    self.between(left, low, high, negated)?
                }
                Kind::In => {
                    self.next += 1 + usize::from(negated);
                    let list = self.in_list()?;
                    let Node::Property(property) = left.node else {
                        return Err(self.invalid(left.at, "IN needs a property on its left"));
                    };
                    let node = Node::In {
                        property,
                        list,
                        negated,
                    };
                    self.node(node, left.depth, left.at)?
                }
                _ if negated => {
                    let token = self.peek(1)?;
                    return Err(self.syntax(
                        token,
                        "CONTAINS, STARTSWITH, ENDSWITH, BETWEEN or IN after NOT",
                    ));
                }
                _ => return Ok(left),
            };
        }
    }

    /// `checkLessThanOperand`: only numbers, properties and negations can be ordered; not a
    /// string literal, TRUE, FALSE, NULL, nor a boolean expression.
    fn relational(&self, operand: &Parsed) -> Result<(), FilterError> {
        match &operand.node {
            Node::Literal(Literal::Str(_)) => Err(self.invalid(
                operand.at,
                "a string literal cannot be compared with >, >=, <, <= or BETWEEN",
            )),
            node if node.is_boolean() => Err(self.invalid(
                operand.at,
                "a boolean value cannot be compared with >, >=, <, <= or BETWEEN",
            )),
            _ => Ok(()),
        }
    }

    /// `createBetween` / `createNotBetween`. BETWEEN (not NOT BETWEEN) with two literal bounds
    /// also wants them non-null and in order; then all three operands must be orderable.
    fn between(
        &self,
        value: Parsed,
        low: Parsed,
        high: Parsed,
        negated: bool,
    ) -> Result<Parsed, FilterError> {
        if !negated && low.node.is_constant() && high.node.is_constant() {
            if low.node == Node::BoolLiteral(None) || high.node == Node::BoolLiteral(None) {
                return Err(self.invalid(low.at, "BETWEEN's bounds cannot be NULL"));
            }
            if let (Some(low_value), Some(high_value)) = (number(&low.node), number(&high.node)) {
                if super::eval::java_compare(high_value, low_value).is_ok_and(|o| o.is_lt()) {
                    return Err(self.invalid(low.at, "BETWEEN's low bound is above its high bound"));
                }
            }
        }
        for operand in [&value, &low, &high] {
            self.relational(operand)?;
        }
        let depth = value.depth.max(low.depth).max(high.depth) + 1;
        let operands = Box::new((value.node, low.node, high.node));
        self.node(Node::Between { negated, operands }, depth, value.at)
    }

    fn unary(&mut self) -> Result<Parsed, FilterError> {
        let token = self.peek(0)?;
        match token.kind {
            Kind::Plus => {
                // Unary plus is the operand itself; it only nests.
                self.bump();
                self.nested(token.at, Self::unary)
            }
            Kind::Minus => {
                self.bump();
                let operand = self.nested(token.at, Self::unary)?;
                self.node(
                    Node::Negate(Box::new(operand.node)),
                    operand.depth,
                    token.at,
                )
            }
            Kind::Not => {
                self.bump();
                let operand = self.nested(token.at, Self::unary)?;
                let operand = self.as_boolean(operand)?;
                self.node(Node::Not(Box::new(operand.node)), operand.depth, token.at)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Parsed, FilterError> {
        let token = self.peek(0)?;
        let leaf = |node| {
            Ok(Parsed {
                node,
                depth: 1,
                at: token.at,
            })
        };
        match token.kind {
            Kind::Str => {
                let s = self.string()?;
                leaf(Node::Literal(Literal::Str(s)))
            }
            Kind::Decimal => {
                self.bump();
                leaf(Node::Literal(self.decimal(token)?))
            }
            Kind::Float => {
                self.bump();
                leaf(Node::Literal(self.float(token)?))
            }
            Kind::True => {
                self.bump();
                leaf(Node::BoolLiteral(Some(true)))
            }
            Kind::False => {
                self.bump();
                leaf(Node::BoolLiteral(Some(false)))
            }
            Kind::Null => {
                self.bump();
                leaf(Node::BoolLiteral(None))
            }
            Kind::Ident => {
                self.bump();
                leaf(Node::Property(token.text.into()))
            }
            Kind::LParen => {
                self.bump();
                let inner = self.nested(token.at, Self::or)?;
                self.expect(Kind::RParen, "\")\"")?;
                Ok(inner)
            }
            _ => Err(self.syntax(token, "a literal, a property, \"(\", \"+\", \"-\" or NOT")),
        }
    }

    /// `ConstantExpression.createFromDecimal`: drop an `l`/`L`, parse as a Java long (a
    /// compile error beyond it), and keep an `Integer` when the value fits.
    fn decimal(&self, token: Token<'_>) -> Result<Literal, FilterError> {
        let digits = token.text.trim_end_matches(['l', 'L']);
        let value: i64 = digits.parse().map_err(|_| {
            self.invalid(token.at, format!("{digits} is out of a Java long's range"))
        })?;
        Ok(match i32::try_from(value) {
            Ok(int) => Literal::Int(int),
            Err(_) => Literal::Long(value),
        })
    }

    /// `ConstantExpression.createFloat`: a double, refused when it overflows to infinity or is
    /// below `Double.MIN_VALUE`, which makes `0.0` itself a compile error.
    fn float(&self, token: Token<'_>) -> Result<Literal, FilterError> {
        let value: f64 = token
            .text
            .parse()
            .map_err(|_| self.invalid(token.at, format!("{} is not a number", token.text)))?;
        if value.is_infinite() {
            return Err(self.invalid(
                token.at,
                format!("{} is greater than Double.MAX_VALUE", token.text),
            ));
        }
        if value == 0.0 {
            return Err(self.invalid(
                token.at,
                format!("{} is less than Double.MIN_VALUE", token.text),
            ));
        }
        Ok(Literal::Double(value))
    }

    /// A string literal, unquoted: `'it''s'` is `it's`.
    fn string(&mut self) -> Result<Box<str>, FilterError> {
        let token = self.expect(Kind::Str, "a string literal")?;
        let inner = &token.text[1..token.text.len() - 1];
        Ok(inner.replace("''", "'").into_boxed_str())
    }

    /// `"(" string ( "," string )* ")"`, sorted for the binary search.
    fn in_list(&mut self) -> Result<Box<[Box<str>]>, FilterError> {
        self.expect(Kind::LParen, "\"(\" after IN")?;
        let mut list = vec![self.string()?];
        while self.kind(0)? == Kind::Comma {
            self.bump();
            list.push(self.string()?);
        }
        self.expect(Kind::RParen, "\",\" or \")\" in the IN list")?;
        list.sort_unstable();
        list.dedup();
        Ok(list.into_boxed_slice())
    }
}

/// A numeric literal's value, for BETWEEN's bound check.
fn number(node: &Node) -> Option<super::eval::Value<'static>> {
    use super::eval::Value;
    match node {
        Node::Literal(Literal::Int(i)) => Some(Value::Int(*i)),
        Node::Literal(Literal::Long(l)) => Some(Value::Long(*l)),
        Node::Literal(Literal::Double(d)) => Some(Value::Double(*d)),
        _ => None,
    }
}

/// At most 40 characters of a token, for an error message.
fn shorten(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}
