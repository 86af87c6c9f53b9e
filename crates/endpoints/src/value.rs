//! Values during evaluation. Strings borrow from the parameters, the rule set or the partitions wherever they
//! can, so a typical resolution allocates little more than the URL it returns.

use std::rc::Rc;

use crate::partitions::Partition;

/// A string that is borrowed, or computed and shared.
#[derive(Debug, Clone)]
pub(crate) enum Text<'a> {
    Borrowed(&'a str),
    Shared(Rc<str>),
}

impl<'a> Text<'a> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Shared(s) => s,
        }
    }

    /// A byte range of the text, borrowed when the text is; `None` off a character boundary.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Option<Text<'a>> {
        match self {
            Self::Borrowed(s) => s.get(range).map(Text::Borrowed),
            Self::Shared(s) => s.get(range).map(|s| Text::Shared(Rc::from(s))),
        }
    }

    pub(crate) fn owned(s: String) -> Self {
        Self::Shared(Rc::from(s))
    }
}

/// The result of `aws.parseArn`.
#[derive(Debug)]
pub(crate) struct Arn<'a> {
    pub(crate) partition: Text<'a>,
    pub(crate) service: Text<'a>,
    pub(crate) region: Text<'a>,
    pub(crate) account_id: Text<'a>,
    /// The resource split on `:` and `/`.
    pub(crate) resource_id: Vec<Text<'a>>,
}

/// The result of `parseURL`.
#[derive(Debug)]
pub(crate) struct Url<'a> {
    pub(crate) scheme: Text<'a>,
    pub(crate) authority: Text<'a>,
    pub(crate) path: Text<'a>,
    pub(crate) normalized_path: Text<'a>,
    pub(crate) is_ip: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum List<'a> {
    Strings(&'a [String]),
    ArnResource(Rc<Arn<'a>>),
}

impl<'a> List<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Strings(items) => items.len(),
            Self::ArnResource(arn) => arn.resource_id.len(),
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<Text<'a>> {
        match self {
            Self::Strings(items) => items.get(i).map(|s| Text::Borrowed(s.as_str())),
            Self::ArnResource(arn) => arn.resource_id.get(i).cloned(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) enum Value<'a> {
    #[default]
    None,
    Bool(bool),
    Int(i64),
    Str(Text<'a>),
    List(List<'a>),
    Partition(&'a Partition),
    Arn(Rc<Arn<'a>>),
    Url(Rc<Url<'a>>),
}

impl Value<'_> {
    /// Python truthiness, which botocore's `not` uses.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Self::None => false,
            Self::Bool(b) => *b,
            Self::Int(i) => *i != 0,
            Self::Str(s) => !s.as_str().is_empty(),
            Self::List(l) => l.len() > 0,
            Self::Partition(_) | Self::Arn(_) | Self::Url(_) => true,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::None => "unset",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Str(_) => "a string",
            Self::List(_) => "an array",
            Self::Partition(_) => "a partition",
            Self::Arn(_) => "an ARN",
            Self::Url(_) => "a URL",
        }
    }
}
