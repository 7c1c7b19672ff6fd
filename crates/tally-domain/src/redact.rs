//! What is secret, and how it is shown: one rule for every URL, setting and log line.
//!
//! Operators paste connection strings with credentials into configs and flags
//! (`http://tally:pw@clickhouse:8123`, `?password=...`), and librdkafka takes secrets as
//! properties (`sasl.password`, `sasl.oauthbearer.config`). Everything Tally prints or
//! logs (`config show`, errors, start-up lines) goes through here, so a secret is
//! masked the same way wherever it appears.

/// What a secret is shown as.
pub const MASK: &str = "********";

/// Words that make a setting's or a query parameter's value secret.
const SECRET_WORDS: [&str; 9] =
    ["password", "passwd", "secret", "token", "jaas", "oauthbearer", "credential", "private", "key.pem"];

/// Whether a key (`sasl.password`, `sasl.oauthbearer.config`, `password`) names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| key.contains(word))
}

/// A URL with the password of its user info and the values of secret query
/// parameters masked: `http://u:********@h:8123/?user=u&password=********`.
/// Text that is not a URL comes back unchanged.
pub fn url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:{MASK}@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = query.split_once('#').map_or((query, None), |(q, f)| (q, Some(f)));
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_secret_key(key) => format!("{key}={MASK}"),
                    _ => pair.to_owned(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked_wherever_they_are() {
        assert_eq!(url("http://tally:s3cret@ch:8123/db"), "http://tally:********@ch:8123/db");
        assert_eq!(url("https://ch:8443/?user=tally&password=s3cret"), "https://ch:8443/?user=tally&password=********");
        assert_eq!(
            url("http://a:b@ch/?x=1&access_token=t#frag"),
            "http://a:********@ch/?x=1&access_token=********#frag"
        );
        assert_eq!(url("http://p@ss:w@rd@ch:8123"), "http://p@ss:********@ch:8123", "the last @ ends the user info");
        assert_eq!(url("http://ch:8123?password="), "http://ch:8123?password=********");
        assert_eq!(url("http://127.0.0.1:8123"), "http://127.0.0.1:8123");
        assert_eq!(url("http://user@ch"), "http://user@ch", "a user name alone is no secret");
        assert_eq!(url("not a url"), "not a url");
        for (key, secret) in [
            ("sasl.password", true),
            ("sasl.oauthbearer.config", true),
            ("ssl.key.password", true),
            ("sasl.jaas.config", true),
            ("sasl.oauthbearer.client.secret", true),
            ("security.protocol", false),
            ("sasl.username", false),
        ] {
            assert_eq!(is_secret_key(key), secret, "{key}");
        }
    }
}
