//! Base URL rules: `https://` anywhere, plain `http://` only to loopback, so the key never
//! crosses a network in clear text.

use crate::error::{Error, Result};

/// Parses and checks a base URL; returns it without a trailing slash.
pub fn validate_base_url(base_url: &str) -> Result<url::Url> {
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
}
