//! The AWS CLI's argument customizations that agents use: arguments that are not model members but
//! build part of the request (`ec2 authorize-security-group-ingress --port 22`, `lambda
//! create-function --zip-file`, `cloudwatch put-metric-data --value`, ...). Each builds exactly the
//! parameters the AWS CLI builds (pinned by the awscli corpus). Other customizations are refused
//! with a pointer to the underlying API parameter.

use indexmap::IndexMap;

use crate::error::{Problem, ProblemKind};
use crate::value::Value;

/// A supported customization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Custom {
    /// `ec2 run-instances --count N[:M]` → MinCount/MaxCount.
    Count,
    /// Security group shortcuts → `IpPermissions[0]`.
    Protocol,
    Port,
    Cidr,
    SourceGroup,
    GroupOwner,
    /// `cloudwatch put-metric-data --metric-name ...` → `MetricData[0]`.
    PutMetric(String),
    /// `lambda --zip-file fileb://...` → `<member>.ZipFile`.
    ZipFile(String),
    /// `deploy --s3-location` / `--github-location` → `revision`.
    S3Location,
    GitHubLocation,
    /// `ec2 run-instances` network-interface shortcuts → `NetworkInterfaces[0]`.
    AssociatePublicIp(bool),
    SecondaryPrivateIps,
    SecondaryPrivateIpCount,
}

impl Custom {
    /// The customization for an awscli argument class, if supported.
    pub fn from_class(class: &str, name: &str, zip_target: Option<&str>) -> Option<Custom> {
        Some(match class {
            "CountArgument" => Custom::Count,
            "ProtocolArgument" => Custom::Protocol,
            "PortArgument" => Custom::Port,
            "CidrArgument" => Custom::Cidr,
            "SourceGroupArgument" => Custom::SourceGroup,
            "GroupOwnerArgument" => Custom::GroupOwner,
            "PutMetricArgument" => Custom::PutMetric(name.to_string()),
            "ZipFileArgument" => Custom::ZipFile(zip_target?.to_string()),
            "S3LocationArgument" => Custom::S3Location,
            "GitHubLocationArgument" => Custom::GitHubLocation,
            "AssociatePublicIpAddressArgument" => Custom::AssociatePublicIp(true),
            "NoAssociatePublicIpAddressArgument" => Custom::AssociatePublicIp(false),
            "SecondaryPrivateIpAddressesArgument" => Custom::SecondaryPrivateIps,
            "SecondaryPrivateIpAddressCountArgument" => Custom::SecondaryPrivateIpCount,
            _ => return None,
        })
    }

    /// How many words the option takes.
    pub fn arity(&self) -> Arity {
        match self {
            Custom::AssociatePublicIp(_) => Arity::Flag,
            Custom::SecondaryPrivateIps => Arity::Many,
            _ => Arity::One,
        }
    }

    /// Adds what this argument builds to `params`. `bytes` is the content of a `fileb://` value.
    pub fn apply(
        &self,
        option: &str,
        words: &[String],
        bytes: Option<Vec<u8>>,
        params: &mut IndexMap<String, Value>,
    ) -> Result<(), Problem> {
        let word = words.first().map(String::as_str).unwrap_or("");
        let bad = |msg: &str| {
            Problem::new(ProblemKind::InvalidType, msg.to_string()).at(format!("--{option}"))
        };
        match self {
            Custom::Count => {
                let (a, b) = word.split_once(':').unwrap_or((word, word));
                let (Ok(min), Ok(max)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) else {
                    return Err(bad(
                        "count parameter should be of form min[:max] (e.g. 1 or 1:10)",
                    ));
                };
                params.insert("MinCount".into(), Value::Int(min));
                params.insert("MaxCount".into(), Value::Int(max));
            }
            Custom::Protocol => {
                let value = match word.parse::<i64>() {
                    Ok(n) if (0..=255).contains(&n) || n == -1 => word.to_string(),
                    Ok(_) => {
                        return Err(bad(
                            "protocol numbers must be in the range 0-255 or -1 to specify all protocols",
                        ));
                    }
                    Err(_) => match word {
                        "tcp" | "udp" | "icmp" => word.to_string(),
                        "all" => "-1".to_string(),
                        _ => {
                            return Err(bad(
                                "protocol should be one of tcp, udp, icmp, all, or a protocol number",
                            ));
                        }
                    },
                };
                permission(params).insert("IpProtocol".into(), Value::Str(value));
            }
            Custom::Port => {
                let (from, to) = if word == "-1" || word == "all" {
                    ("-1", "-1")
                } else {
                    word.split_once('-').unwrap_or((word, word))
                };
                let (Ok(from), Ok(to)) = (from.trim().parse::<i64>(), to.trim().parse::<i64>())
                else {
                    return Err(bad(
                        "port should be of the form <from[-to]> (e.g. 22 or 22-25)",
                    ));
                };
                let p = permission(params);
                p.insert("FromPort".into(), Value::Int(from));
                p.insert("ToPort".into(), Value::Int(to));
            }
            Custom::Cidr => {
                let range = Value::Map(IndexMap::from([(
                    "CidrIp".to_string(),
                    Value::Str(word.to_string()),
                )]));
                let p = permission(params);
                match p
                    .entry("IpRanges".into())
                    .or_insert_with(|| Value::List(Vec::new()))
                {
                    Value::List(l) => l.push(range),
                    other => *other = Value::List(vec![range]),
                }
            }
            Custom::SourceGroup | Custom::GroupOwner => {
                let key = match self {
                    Custom::GroupOwner => "UserId",
                    _ if word.starts_with("sg-") => "GroupId",
                    _ => "GroupName",
                };
                let p = permission(params);
                let pairs = p
                    .entry("UserIdGroupPairs".into())
                    .or_insert_with(|| Value::List(vec![Value::Map(IndexMap::new())]));
                if let Value::List(l) = pairs
                    && let Some(Value::Map(pair)) = l.first_mut()
                {
                    pair.insert(key.into(), Value::Str(word.to_string()));
                }
            }
            Custom::PutMetric(name) => {
                let datum = first_element(params, "MetricData");
                match name.as_str() {
                    "metric-name" => {
                        datum.insert("MetricName".into(), Value::Str(word.to_string()))
                    }
                    "unit" => datum.insert("Unit".into(), Value::Str(word.to_string())),
                    "timestamp" => datum.insert("Timestamp".into(), Value::Str(word.to_string())),
                    "value" => datum.insert(
                        "Value".into(),
                        Value::Float(number(word).ok_or_else(|| bad("--value takes a number"))?),
                    ),
                    "storage-resolution" => datum.insert(
                        "StorageResolution".into(),
                        Value::Int(
                            word.trim()
                                .parse()
                                .map_err(|_| bad("--storage-resolution takes an integer"))?,
                        ),
                    ),
                    "dimensions" => {
                        let mut dims = Vec::new();
                        for pair in word.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                            let Some((k, v)) = pair.split_once('=') else {
                                return Err(bad(
                                    "dimensions are Name=Value pairs separated by commas",
                                ));
                            };
                            dims.push(Value::Map(IndexMap::from([
                                ("Name".to_string(), Value::Str(k.to_string())),
                                ("Value".to_string(), Value::Str(v.to_string())),
                            ])));
                        }
                        datum.insert("Dimensions".into(), Value::List(dims))
                    }
                    "statistic-values" => {
                        let mut stats = IndexMap::new();
                        for pair in word.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                            let (k, v) = pair.split_once('=').ok_or_else(|| {
                                bad("statistic values are Name=Number pairs separated by commas")
                            })?;
                            stats.insert(
                                k.to_string(),
                                Value::Float(
                                    number(v)
                                        .ok_or_else(|| bad("statistic values must be numbers"))?,
                                ),
                            );
                        }
                        datum.insert("StatisticValues".into(), Value::Map(stats))
                    }
                    other => return Err(bad(&format!("unknown put-metric-data argument {other}"))),
                };
            }
            Custom::ZipFile(target) => {
                let Some(bytes) = bytes else {
                    return Err(bad(
                        "--zip-file must be a zip file given with the fileb:// prefix, e.g. fileb://function.zip",
                    ));
                };
                let entry = params
                    .entry(target.clone())
                    .or_insert_with(|| Value::Map(IndexMap::new()));
                if let Value::Map(m) = entry {
                    m.insert("ZipFile".into(), Value::Bytes(bytes));
                }
            }
            Custom::S3Location | Custom::GitHubLocation => {
                let parsed = portcullis_shorthand::parse(word).map_err(|e| bad(&e.to_string()))?;
                let get = |k: &str| {
                    parsed
                        .get(k)
                        .and_then(|v| v.as_scalar())
                        .map(|s| Value::Str(s.text.clone()))
                };
                let (kind, key, required, optional): (&str, &str, &[&str], &[&str]) = match self {
                    Custom::S3Location => (
                        "S3",
                        "s3Location",
                        &["bucket", "key", "bundleType"],
                        &["eTag", "version"],
                    ),
                    _ => ("GitHub", "gitHubLocation", &["repository", "commitId"], &[]),
                };
                let mut loc = IndexMap::new();
                for k in required {
                    match get(k) {
                        Some(v) => loc.insert((*k).to_string(), v),
                        None => {
                            return Err(bad(&format!("--{option} needs {}", required.join(", "))));
                        }
                    };
                }
                for k in optional {
                    if let Some(v) = get(k) {
                        loc.insert((*k).to_string(), v);
                    }
                }
                params.insert(
                    "revision".into(),
                    Value::Map(IndexMap::from([
                        ("revisionType".to_string(), Value::Str(kind.to_string())),
                        (key.to_string(), Value::Map(loc)),
                    ])),
                );
            }
            Custom::AssociatePublicIp(v) => {
                interface(params).insert("AssociatePublicIpAddress".into(), Value::Bool(*v));
            }
            Custom::SecondaryPrivateIps => {
                let ips: Vec<Value> = words
                    .iter()
                    .map(|ip| {
                        Value::Map(IndexMap::from([
                            ("PrivateIpAddress".to_string(), Value::Str(ip.clone())),
                            ("Primary".to_string(), Value::Bool(false)),
                        ]))
                    })
                    .collect();
                if !ips.is_empty() {
                    interface(params)
                        .entry("PrivateIpAddresses".into())
                        .or_insert(Value::List(ips));
                }
            }
            Custom::SecondaryPrivateIpCount => {
                let n: i64 = word.trim().parse().map_err(|_| bad("takes an integer"))?;
                if n != 0 {
                    interface(params)
                        .insert("SecondaryPrivateIpAddressCount".into(), Value::Int(n));
                }
            }
        }
        Ok(())
    }
}

/// How many words a customization takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    Flag,
    One,
    Many,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn first_element<'a>(
    params: &'a mut IndexMap<String, Value>,
    key: &str,
) -> &'a mut IndexMap<String, Value> {
    let list = params
        .entry(key.to_string())
        .or_insert_with(|| Value::List(Vec::new()));
    if !matches!(list, Value::List(l) if matches!(l.first(), Some(Value::Map(_)))) {
        *list = Value::List(vec![Value::Map(IndexMap::new())]);
    }
    match list {
        Value::List(l) => match &mut l[0] {
            Value::Map(m) => m,
            _ => unreachable!("set to a map above"),
        },
        _ => unreachable!("set to a list above"),
    }
}

fn permission(params: &mut IndexMap<String, Value>) -> &mut IndexMap<String, Value> {
    first_element(params, "IpPermissions")
}

fn interface(params: &mut IndexMap<String, Value>) -> &mut IndexMap<String, Value> {
    let iface = first_element(params, "NetworkInterfaces");
    iface.entry("DeviceIndex".into()).or_insert(Value::Int(0));
    iface
}

/// botocore's `before-parameter-build` fix for `ec2 run-instances`: when a network interface is
/// described by the shortcuts, the instance-level network settings move into it.
pub(crate) fn fix_run_instances(params: &mut IndexMap<String, Value>) {
    let moves = [
        ("SubnetId", "SubnetId"),
        ("SecurityGroupIds", "Groups"),
        ("Ipv6AddressCount", "Ipv6AddressCount"),
        ("Ipv6Addresses", "Ipv6Addresses"),
        ("EnablePrimaryIpv6", "PrimaryIpv6"),
    ];
    let Some(Value::List(list)) = params.get("NetworkInterfaces") else {
        return;
    };
    let Some(Value::Map(first)) = list.first() else {
        return;
    };
    if ![
        "PrivateIpAddresses",
        "SecondaryPrivateIpAddressCount",
        "AssociatePublicIpAddress",
    ]
    .iter()
    .any(|k| first.contains_key(*k))
    {
        return;
    }
    let mut moved = Vec::new();
    for (from, to) in moves {
        if let Some(v) = params.shift_remove(from) {
            moved.push((to.to_string(), v));
        }
    }
    if let Some(Value::Str(ip)) = params.shift_remove("PrivateIpAddress") {
        let addr = Value::Map(IndexMap::from([
            ("PrivateIpAddress".to_string(), Value::Str(ip)),
            ("Primary".to_string(), Value::Bool(true)),
        ]));
        moved.push(("PrivateIpAddresses".to_string(), Value::List(vec![addr])));
    }
    if let Some(Value::List(list)) = params.get_mut("NetworkInterfaces")
        && let Some(Value::Map(first)) = list.first_mut()
    {
        for (k, v) in moved {
            first.insert(k, v);
        }
    }
}
