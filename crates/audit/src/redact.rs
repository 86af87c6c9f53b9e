//! Redaction of request parameters before they are recorded.
//!
//! A value is replaced by [`REDACTED`] when
//! * its key, lowercased with `-` and `_` removed, **contains** one of `password`, `passphrase`,
//!   `secretaccesskey`, `sessiontoken`, `secretstring`, `secretbinary`, `privatekey`,
//!   `clientsecret`, `authtoken`, `accesstoken`, `refreshtoken`, `idtoken`, `tokencode`,
//!   `plaintext`, `sharedsecret`, `authkey`, `presharedkey` (so `MasterUserPassword`,
//!   `CertificatePrivateKey`, KMS `Plaintext`, Cognito `ClientSecret`, an MFA `TokenCode`);
//!   names that only *refer* to a secret (`SecretId`, `SecretArn`, `SecretName`,
//!   `NextToken`, `ClientToken`, `KmsKeyId`) stay visible;
//! * or it is a string holding a PEM private key (`-----BEGIN … PRIVATE KEY-----`), wherever it is;
//! * or, for `ssm put-parameter`, it is `Value` and `Type` is not `String`/`StringList` (an absent
//!   `Type` may overwrite a SecureString, so it is masked too).
//!
//! Access key ids (`AKIA…`, `ASIA…`) are not secret and stay visible. A whole object or array
//! under a secret key is replaced (nothing inside it survives). The digest of the normalized
//! request is computed by the server before redaction, so consent still binds the exact request.

use serde_json::{Map, Value};

/// What a masked value becomes.
pub const REDACTED: &str = "[REDACTED]";

const SECRET_KEY_PARTS: &[&str] = &[
    "password",
    "passphrase",
    "secretaccesskey",
    "sessiontoken",
    "secretstring",
    "secretbinary",
    "privatekey",
    "clientsecret",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "tokencode",
    "plaintext",
    "sharedsecret",
    "authkey",
    "presharedkey",
];

fn normalized(key: &str) -> String {
    key.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect()
}

/// Whether a parameter name names a secret value (see the module docs for the list).
pub fn is_secret_key(key: &str) -> bool {
    let key = normalized(key);
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
}

fn is_private_key_pem(text: &str) -> bool {
    text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----")
}

/// `params` with secret values masked (generic rules only).
pub fn redact_params(params: &Value) -> Value {
    redact_value(params)
}

/// `params` of `service`/`operation` with secret values masked: the generic rules plus the
/// operation-specific ones (`ssm put-parameter`'s `Value`). Names may be CLI (`put-parameter`) or
/// API (`PutParameter`) style.
pub fn redact_params_for(service: &str, operation: &str, params: &Value) -> Value {
    let mut out = redact_value(params);
    if normalized(service) == "ssm"
        && normalized(operation) == "putparameter"
        && let Value::Object(map) = &mut out
    {
        let plain = matches!(map.get("Type").and_then(Value::as_str), Some("String" | "StringList"));
        if !plain && let Some(v) = map.get_mut("Value") {
            *v = Value::String(REDACTED.into());
        }
    }
    out
}

fn redact_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let masked = if is_secret_key(k) && !v.is_null() { Value::String(REDACTED.into()) } else { redact_value(v) };
                out.insert(k.clone(), masked);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::String(s) if is_private_key_pem(s) => Value::String(REDACTED.into()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secrets_keeps_the_rest() {
        let params = json!({
            "SecretId": "prod/db", "SecretString": "hunter2", "SecretBinary": "aGk=",
            "MasterUserPassword": "p", "master-user-password": "p", "NewPassword": "n",
            "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalr", "SessionToken": "t",
            "NextToken": "n", "ClientToken": "c", "Plaintext": "cGxhaW4=", "TokenCode": "123456",
            "Tags": [{"Key": "Password", "Value": "visible"}],
            "Nested": {"PrivateKey": {"Pem": "x"}, "Cert": "-----BEGIN CERTIFICATE-----"},
            "Blob": "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
            "Empty": null, "Password": null
        });
        let out = redact_params(&params);
        for visible in ["SecretId", "AccessKeyId", "NextToken", "ClientToken"] {
            assert_eq!(out[visible], params[visible], "{visible}");
        }
        for masked in [
            "SecretString", "SecretBinary", "MasterUserPassword", "master-user-password", "NewPassword",
            "SecretAccessKey", "SessionToken", "Plaintext", "TokenCode", "Blob",
        ] {
            assert_eq!(out[masked], REDACTED, "{masked}");
        }
        assert_eq!(out["Nested"]["PrivateKey"], REDACTED);
        assert_eq!(out["Nested"]["Cert"], params["Nested"]["Cert"]);
        assert_eq!(out["Tags"][0]["Value"], "visible", "tag values are not secrets by key");
        assert_eq!(out["Password"], Value::Null, "null stays null");
        assert!(!out.to_string().contains("hunter2"));
    }

    #[test]
    fn ssm_put_parameter_value() {
        let secure = json!({"Name": "/a", "Value": "s3cret", "Type": "SecureString"});
        assert_eq!(redact_params_for("ssm", "put-parameter", &secure)["Value"], REDACTED);
        let untyped = json!({"Name": "/a", "Value": "s3cret", "Overwrite": true});
        assert_eq!(redact_params_for("ssm", "PutParameter", &untyped)["Value"], REDACTED);
        let plain = json!({"Name": "/a", "Value": "v1", "Type": "String"});
        assert_eq!(redact_params_for("ssm", "put-parameter", &plain)["Value"], "v1");
        assert_eq!(redact_params_for("ec2", "create-tags", &secure)["Value"], "s3cret");
    }
}
