//! Base URL rules: `https://` anywhere, plain `http://` only to loopback, so the key never
//! crosses a network in clear text.

use crate::error::{Error, Result};

/// Parses and checks a base URL; returns it without a trailing slash.
pub fn validate_base_url(base_url: &str) -> Result<url::Url> {
    // The URL parser silently drops leading and trailing spaces and any tab or newline inside:
    // the URL used would then differ from the one shown as `base_url`. Refused, not fixed up.
    if base_url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(
            "base_url",
            "contains whitespace or control characters (a stray space or newline?)",
        ));
    }
    let parsed = url::Url::parse(base_url.trim_end_matches('/')).map_err(|e| {
        Error::invalid(
            "base_url",
            format!("{e}: expected https://<tenant>.converz.co/api/v1"),
        )
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => return Err(Error::invalid(
            "base_url",
            "plain http:// is only allowed to loopback (localhost, 127.0.0.1, ::1); use https://",
        )),
        other => {
            return Err(Error::invalid(
                "base_url",
                format!("unsupported scheme `{other}`; use https://"),
            ))
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(
            "base_url",
            "credentials in the URL are not allowed; pass api_key= instead",
        ));
    }
    // Request paths are appended to the base: after a `?` or `#` they would land in the query
    // or fragment, and the host before them may not be the one the caller meant.
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::invalid(
            "base_url",
            "must not have a query (`?`) or fragment (`#`): expected https://<tenant>.converz.co/api/v1",
        ));
    }
    Ok(parsed)
}

/// True for `localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_loopback() {
        assert!(validate_base_url("https://acme.converz.co/api/v1").is_ok());
        assert!(validate_base_url("http://127.0.0.1:8080/api/v1").is_ok());
        assert!(validate_base_url("http://localhost:1/").is_ok());
        assert!(validate_base_url("http://[::1]:9/api/v1").is_ok());
        assert!(validate_base_url("http://acme.converz.co/api/v1").is_err());
        assert!(validate_base_url("ftp://127.0.0.1/").is_err());
        assert!(validate_base_url("https://u:p@acme.converz.co/").is_err());
        assert!(validate_base_url("not a url").is_err());
    }

    #[test]
    fn whitespace_query_and_fragment_are_refused() {
        for bad in [
            " https://acme.converz.co/api/v1",
            "https://acme.converz.co/api/v1 ",
            "https://acme.converz.co/api/v1\n",
            "https://ac\tme.converz.co/api/v1",
            "https://127.0.0.1:9/#.converz.co/api/v1",
            "https://acme.converz.co/api/v1?x=1",
        ] {
            let err = validate_base_url(bad).unwrap_err();
            assert!(err.to_string().contains("`base_url`"), "{bad:?}: {err}");
        }
    }
}
