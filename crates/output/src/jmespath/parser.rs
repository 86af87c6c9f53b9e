//! Pratt parser: a port of `jmespath/parser.py`, node for node, so that the expressions Python
//! accepts (including its lenient corners, e.g. `f(a b)` and a trailing comma in `f(a,)`) parse
//! here to the same tree, and the ones it rejects are rejected with the same class of error.

use serde_json::Value;

use super::error::{QueryError, SyntaxKind};
use super::lexer::{Tok, Token};

/// Deepest syntax tree we build (64 keeps a debug build's parser and evaluator within a 1 MiB
/// stack). Python stops near 300 levels (its recursion limit); real queries stay under 20.
/// Bounding the tree also bounds every recursive walk over it.
pub const MAX_AST_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Field(String),
    Subexpression(Vec<Node>),
    IndexExpression(Vec<Node>),
    Index(i128),
    Slice(Option<i128>, Option<i128>, Option<i128>),
    Projection(Box<Node>, Box<Node>),
    ValueProjection(Box<Node>, Box<Node>),
    /// left, right, condition
    FilterProjection(Box<Node>, Box<Node>, Box<Node>),
    Flatten(Box<Node>),
    Identity,
    Current,
    Literal(Value),
    MultiSelectList(Vec<Node>),
    MultiSelectHash(Vec<(String, Node)>),
    Comparator(CmpOp, Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Pipe(Box<Node>, Box<Node>),
    Function(String, Vec<Node>),
    Expref(Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub depth: usize,
}

pub(crate) fn parse(expression: &str, tokens: Vec<Token>) -> Result<Node, QueryError> {
    let mut p = Parser {
        expression,
        tokens,
        index: 0,
        nesting: 0,
    };
    let node = p.expression(0)?;
    if p.current() != &Tok::Eof {
        let t = p.token(0);
        return Err(p.error(
            SyntaxKind::Parse,
            t.start,
            format!("unexpected token {}", describe(t)),
        ));
    }
    Ok(node)
}

fn describe(t: &Token) -> String {
    if t.tok == Tok::Eof {
        "end of expression".to_string()
    } else {
        format!("{:?} ({})", t.text, t.tok.type_name())
    }
}

struct Parser<'a> {
    expression: &'a str,
    tokens: Vec<Token>,
    index: usize,
    nesting: usize,
}

const PROJECTION_STOP: u8 = 10;
const BP_STAR: u8 = 20;
const BP_FILTER: u8 = 21;
const BP_FLATTEN: u8 = 9;
const BP_DOT: u8 = 40;
const BP_NOT: u8 = 45;
const BP_EXPREF: u8 = 0;

fn mk(kind: Kind) -> Result<Node, QueryError> {
    let child_depth = match &kind {
        Kind::Subexpression(v)
        | Kind::IndexExpression(v)
        | Kind::MultiSelectList(v)
        | Kind::Function(_, v) => v.iter().map(|n| n.depth).max().unwrap_or(0),
        Kind::MultiSelectHash(v) => v.iter().map(|(_, n)| n.depth).max().unwrap_or(0),
        Kind::Projection(a, b)
        | Kind::ValueProjection(a, b)
        | Kind::Comparator(_, a, b)
        | Kind::Or(a, b)
        | Kind::And(a, b)
        | Kind::Pipe(a, b) => a.depth.max(b.depth),
        Kind::FilterProjection(a, b, c) => a.depth.max(b.depth).max(c.depth),
        Kind::Flatten(a) | Kind::Not(a) | Kind::Expref(a) => a.depth,
        _ => 0,
    };
    Ok(Node {
        kind,
        depth: child_depth + 1,
    })
}

fn bx(n: Node) -> Box<Node> {
    Box::new(n)
}

impl Parser<'_> {
    fn token(&self, offset: isize) -> &Token {
        let i = self.index as isize + offset;
        let last = self.tokens.len() - 1; // the lexer always ends with Eof
        if i < 0 {
            &self.tokens[last]
        } else {
            &self.tokens[(i as usize).min(last)]
        }
    }

    fn current(&self) -> &Tok {
        &self.token(0).tok
    }

    fn advance(&mut self) {
        if self.index < self.tokens.len() - 1 {
            self.index += 1;
        } else {
            self.index = self.tokens.len();
        }
    }

    fn error(&self, kind: SyntaxKind, position: usize, message: String) -> QueryError {
        QueryError::syntax(kind, self.expression, position, message)
    }

    /// `_raise_parse_error_for_token`: a parse error even at the end of the expression.
    fn error_for_token(&self, t: &Token, reason: &str) -> QueryError {
        self.error(
            SyntaxKind::Parse,
            t.start,
            format!("{reason}: {}", describe(t)),
        )
    }

    /// `_raise_parse_error_maybe_eof`: at the end of the expression, an incomplete expression.
    fn error_maybe_eof(&self, t: &Token, reason: &str) -> QueryError {
        if t.tok == Tok::Eof {
            return self.incomplete();
        }
        self.error_for_token(t, reason)
    }

    fn incomplete(&self) -> QueryError {
        let len = self.expression.chars().count();
        self.error(
            SyntaxKind::Incomplete,
            len,
            "the expression ends too early".to_string(),
        )
    }

    fn check_depth(&self, node: Node) -> Result<Node, QueryError> {
        if node.depth > MAX_AST_DEPTH {
            return Err(self.error(
                SyntaxKind::TooDeep,
                self.token(0).start,
                format!("expression nested deeper than {MAX_AST_DEPTH} levels"),
            ));
        }
        Ok(node)
    }

    fn expression(&mut self, binding_power: u8) -> Result<Node, QueryError> {
        self.nesting += 1;
        if self.nesting > MAX_AST_DEPTH {
            self.nesting -= 1;
            return Err(self.error(
                SyntaxKind::TooDeep,
                self.token(0).start,
                format!("expression nested deeper than {MAX_AST_DEPTH} levels"),
            ));
        }
        let r = self.expression_inner(binding_power);
        self.nesting -= 1;
        r
    }

    fn expression_inner(&mut self, binding_power: u8) -> Result<Node, QueryError> {
        let left_token = self.token(0).clone();
        self.advance();
        let mut left = self.nud(left_token)?;
        left = self.check_depth(left)?;
        while binding_power < self.current().binding_power() {
            let t = self.token(0).clone();
            self.advance();
            left = self.led(t, left)?;
            left = self.check_depth(left)?;
        }
        Ok(left)
    }

    // nud/led dispatch to one small function per token: the parser recurses through them, and
    // one large match would reserve stack for every arm's temporaries at every level.
    fn nud(&mut self, token: Token) -> Result<Node, QueryError> {
        match token.tok {
            Tok::Literal(v) => mk(Kind::Literal(v)),
            Tok::UnquotedIdentifier(name) => mk(Kind::Field(name)),
            Tok::QuotedIdentifier(name) => self.nud_quoted_identifier(name),
            Tok::Star => self.nud_star(),
            Tok::Filter => self.nud_filter(),
            Tok::LBrace => self.multi_select_hash(),
            Tok::LParen => self.nud_lparen(),
            Tok::Flatten => self.nud_flatten(),
            Tok::Not => self.nud_not(),
            Tok::LBracket => self.nud_lbracket(),
            Tok::Current => mk(Kind::Current),
            Tok::Expref => self.nud_expref(),
            Tok::Eof => Err(self.incomplete()),
            _ => Err(self.error_for_token(&token, "invalid token")),
        }
    }

    #[inline(never)]
    fn nud_quoted_identifier(&mut self, name: String) -> Result<Node, QueryError> {
        if self.current() == &Tok::LParen {
            let t = self.token(0);
            return Err(self.error(
                SyntaxKind::Parse,
                t.start,
                "quoted identifier not allowed for function names".to_string(),
            ));
        }
        mk(Kind::Field(name))
    }

    #[inline(never)]
    fn nud_star(&mut self) -> Result<Node, QueryError> {
        let left = mk(Kind::Identity)?;
        let right = if self.current() == &Tok::RBracket {
            mk(Kind::Identity)?
        } else {
            self.projection_rhs(BP_STAR)?
        };
        mk(Kind::ValueProjection(bx(left), bx(right)))
    }

    #[inline(never)]
    fn nud_filter(&mut self) -> Result<Node, QueryError> {
        let identity = mk(Kind::Identity)?;
        self.led_filter(identity)
    }

    #[inline(never)]
    fn nud_lparen(&mut self) -> Result<Node, QueryError> {
        let e = self.expression(0)?;
        self.match_tok(&Tok::RParen)?;
        Ok(e)
    }

    #[inline(never)]
    fn nud_flatten(&mut self) -> Result<Node, QueryError> {
        let left = mk(Kind::Flatten(bx(mk(Kind::Identity)?)))?;
        let right = self.projection_rhs(BP_FLATTEN)?;
        mk(Kind::Projection(bx(left), bx(right)))
    }

    #[inline(never)]
    fn nud_not(&mut self) -> Result<Node, QueryError> {
        let e = self.expression(BP_NOT)?;
        mk(Kind::Not(bx(e)))
    }

    #[inline(never)]
    fn nud_expref(&mut self) -> Result<Node, QueryError> {
        let e = self.expression(BP_EXPREF)?;
        mk(Kind::Expref(bx(e)))
    }

    #[inline(never)]
    fn nud_lbracket(&mut self) -> Result<Node, QueryError> {
        if matches!(self.current(), Tok::Number(_) | Tok::Colon) {
            let right = self.index_expression()?;
            let identity = mk(Kind::Identity)?;
            self.project_if_slice(identity, right)
        } else if self.current() == &Tok::Star && self.token(1).tok == Tok::RBracket {
            self.advance();
            self.advance();
            let right = self.projection_rhs(BP_STAR)?;
            mk(Kind::Projection(bx(mk(Kind::Identity)?), bx(right)))
        } else {
            self.multi_select_list()
        }
    }

    fn led(&mut self, token: Token, left: Node) -> Result<Node, QueryError> {
        match token.tok {
            Tok::Dot => self.led_dot(left),
            Tok::Pipe => self.led_binary(left, 1, Kind::Pipe),
            Tok::Or => self.led_binary(left, 2, Kind::Or),
            Tok::And => self.led_binary(left, 3, Kind::And),
            Tok::LParen => self.led_lparen(left),
            Tok::Filter => self.led_filter(left),
            Tok::Eq => self.comparator(left, CmpOp::Eq),
            Tok::Ne => self.comparator(left, CmpOp::Ne),
            Tok::Gt => self.comparator(left, CmpOp::Gt),
            Tok::Gte => self.comparator(left, CmpOp::Gte),
            Tok::Lt => self.comparator(left, CmpOp::Lt),
            Tok::Lte => self.comparator(left, CmpOp::Lte),
            Tok::Flatten => self.led_flatten(left),
            Tok::LBracket => self.led_lbracket(left),
            // Tokens with a binding power but no infix meaning (star, not, lbrace).
            _ => Err(self.error_for_token(&token, "invalid token")),
        }
    }

    #[inline(never)]
    fn led_dot(&mut self, left: Node) -> Result<Node, QueryError> {
        if self.current() != &Tok::Star {
            let right = self.dot_rhs(BP_DOT)?;
            match left.kind {
                Kind::Subexpression(mut children) => {
                    // Depth without rescanning the children (long chains stay linear).
                    let depth = left.depth.max(right.depth + 1);
                    children.push(right);
                    Ok(Node {
                        kind: Kind::Subexpression(children),
                        depth,
                    })
                }
                other => mk(Kind::Subexpression(vec![
                    Node {
                        kind: other,
                        depth: left.depth,
                    },
                    right,
                ])),
            }
        } else {
            self.advance();
            let right = self.projection_rhs(BP_DOT)?;
            mk(Kind::ValueProjection(bx(left), bx(right)))
        }
    }

    #[inline(never)]
    fn led_binary(
        &mut self,
        left: Node,
        binding_power: u8,
        make: fn(Box<Node>, Box<Node>) -> Kind,
    ) -> Result<Node, QueryError> {
        let right = self.expression(binding_power)?;
        mk(make(bx(left), bx(right)))
    }

    #[inline(never)]
    fn led_lparen(&mut self, left: Node) -> Result<Node, QueryError> {
        let Kind::Field(name) = left.kind else {
            let prev = self.token(-2).clone();
            return Err(self.error(
                SyntaxKind::Parse,
                prev.start,
                format!(
                    "invalid function name {:?}: only a bare name can be called",
                    prev.text
                ),
            ));
        };
        let mut args = Vec::new();
        while self.current() != &Tok::RParen {
            let e = self.expression(0)?;
            if self.current() == &Tok::Comma {
                self.match_tok(&Tok::Comma)?;
            }
            args.push(e);
        }
        self.match_tok(&Tok::RParen)?;
        mk(Kind::Function(name, args))
    }

    #[inline(never)]
    fn led_flatten(&mut self, left: Node) -> Result<Node, QueryError> {
        let left = mk(Kind::Flatten(bx(left)))?;
        let right = self.projection_rhs(BP_FLATTEN)?;
        mk(Kind::Projection(bx(left), bx(right)))
    }

    #[inline(never)]
    fn led_lbracket(&mut self, left: Node) -> Result<Node, QueryError> {
        if matches!(self.current(), Tok::Number(_) | Tok::Colon) {
            let right = self.index_expression()?;
            match left.kind {
                Kind::IndexExpression(mut children) => {
                    // Python appends even a slice here, without projecting (a quirk we keep).
                    let depth = left.depth.max(right.depth + 1);
                    children.push(right);
                    Ok(Node {
                        kind: Kind::IndexExpression(children),
                        depth,
                    })
                }
                other => self.project_if_slice(
                    Node {
                        kind: other,
                        depth: left.depth,
                    },
                    right,
                ),
            }
        } else {
            self.match_tok(&Tok::Star)?;
            self.match_tok(&Tok::RBracket)?;
            let right = self.projection_rhs(BP_STAR)?;
            mk(Kind::Projection(bx(left), bx(right)))
        }
    }

    #[inline(never)]
    fn led_filter(&mut self, left: Node) -> Result<Node, QueryError> {
        let condition = self.expression(0)?;
        self.match_tok(&Tok::RBracket)?;
        let right = if self.current() == &Tok::Flatten {
            mk(Kind::Identity)?
        } else {
            self.projection_rhs(BP_FILTER)?
        };
        mk(Kind::FilterProjection(bx(left), bx(right), bx(condition)))
    }

    fn comparator(&mut self, left: Node, op: CmpOp) -> Result<Node, QueryError> {
        let right = self.expression(5)?;
        mk(Kind::Comparator(op, bx(left), bx(right)))
    }

    fn index_expression(&mut self) -> Result<Node, QueryError> {
        if self.current() == &Tok::Colon || self.token(1).tok == Tok::Colon {
            return self.slice_expression();
        }
        let n = match self.current() {
            Tok::Number(n) => *n,
            _ => {
                let t = self.token(0).clone();
                return Err(self.error_for_token(&t, "expected a number"));
            }
        };
        self.advance();
        self.match_tok(&Tok::RBracket)?;
        mk(Kind::Index(n))
    }

    fn slice_expression(&mut self) -> Result<Node, QueryError> {
        let mut parts: [Option<i128>; 3] = [None, None, None];
        let mut index = 0;
        while self.current() != &Tok::RBracket && index < 3 {
            match self.current().clone() {
                Tok::Colon => {
                    index += 1;
                    if index == 3 {
                        let t = self.token(0).clone();
                        return Err(
                            self.error_for_token(&t, "syntax error: a slice has at most two ':'")
                        );
                    }
                    self.advance();
                }
                Tok::Number(n) => {
                    parts[index] = Some(n);
                    self.advance();
                }
                _ => {
                    let t = self.token(0).clone();
                    return Err(self.error_for_token(&t, "syntax error in slice"));
                }
            }
        }
        self.match_tok(&Tok::RBracket)?;
        mk(Kind::Slice(parts[0], parts[1], parts[2]))
    }

    fn project_if_slice(&mut self, left: Node, right: Node) -> Result<Node, QueryError> {
        let is_slice = matches!(right.kind, Kind::Slice(..));
        let index_expr = mk(Kind::IndexExpression(vec![left, right]))?;
        if is_slice {
            let rhs = self.projection_rhs(BP_STAR)?;
            mk(Kind::Projection(bx(index_expr), bx(rhs)))
        } else {
            Ok(index_expr)
        }
    }

    fn multi_select_list(&mut self) -> Result<Node, QueryError> {
        let mut items = Vec::new();
        loop {
            items.push(self.expression(0)?);
            if self.current() == &Tok::RBracket {
                break;
            }
            self.match_tok(&Tok::Comma)?;
        }
        self.match_tok(&Tok::RBracket)?;
        mk(Kind::MultiSelectList(items))
    }

    fn multi_select_hash(&mut self) -> Result<Node, QueryError> {
        let mut pairs = Vec::new();
        loop {
            let key_token = self.token(0).clone();
            let key = match &key_token.tok {
                Tok::QuotedIdentifier(k) | Tok::UnquotedIdentifier(k) => k.clone(),
                _ => {
                    return Err(
                        self.error_maybe_eof(&key_token, "expected a key name (identifier)")
                    );
                }
            };
            self.advance();
            self.match_tok(&Tok::Colon)?;
            let value = self.expression(0)?;
            pairs.push((key, value));
            if self.current() == &Tok::Comma {
                self.match_tok(&Tok::Comma)?;
            } else if self.current() == &Tok::RBrace {
                self.match_tok(&Tok::RBrace)?;
                break;
            }
        }
        mk(Kind::MultiSelectHash(pairs))
    }

    fn projection_rhs(&mut self, binding_power: u8) -> Result<Node, QueryError> {
        let current = self.current().clone();
        if current.binding_power() < PROJECTION_STOP {
            mk(Kind::Identity)
        } else if current == Tok::LBracket || current == Tok::Filter {
            self.expression(binding_power)
        } else if current == Tok::Dot {
            self.match_tok(&Tok::Dot)?;
            self.dot_rhs(binding_power)
        } else {
            let t = self.token(0).clone();
            Err(self.error_for_token(&t, "syntax error after a projection"))
        }
    }

    fn dot_rhs(&mut self, binding_power: u8) -> Result<Node, QueryError> {
        match self.current() {
            Tok::QuotedIdentifier(_) | Tok::UnquotedIdentifier(_) | Tok::Star => {
                self.expression(binding_power)
            }
            Tok::LBracket => {
                self.match_tok(&Tok::LBracket)?;
                self.multi_select_list()
            }
            Tok::LBrace => {
                self.match_tok(&Tok::LBrace)?;
                self.multi_select_hash()
            }
            _ => {
                let t = self.token(0).clone();
                Err(self.error_for_token(&t, "expected an identifier, '*', '[' or '{' after '.'"))
            }
        }
    }

    fn match_tok(&mut self, expected: &Tok) -> Result<(), QueryError> {
        if self.current() == expected {
            self.advance();
            Ok(())
        } else {
            let t = self.token(0).clone();
            if t.tok == Tok::Eof {
                return Err(self.incomplete());
            }
            Err(self.error(
                SyntaxKind::Parse,
                t.start,
                format!("expected {}, got {}", expected.type_name(), describe(&t)),
            ))
        }
    }
}
