//! ARNs built and parsed as AWS builds them.
//!
//! Log groups: `arn:aws:logs:{region}:{account}:log-group:{name}` (the
//! `logGroupArn` form) and the same with a trailing `:*` (the legacy `arn`
//! form DescribeLogGroups also returns). Log streams:
//! `arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}`.

pub const PARTITION: &str = "aws";

pub fn log_group(region: &str, account: &str, group: &str) -> String {
    format!("arn:{PARTITION}:logs:{region}:{account}:log-group:{group}")
}

/// The `arn` member of DescribeLogGroups: the group ARN with `:*` appended.
pub fn log_group_wildcard(region: &str, account: &str, group: &str) -> String {
    format!("{}:*", log_group(region, account, group))
}

pub fn log_stream(region: &str, account: &str, group: &str, stream: &str) -> String {
    format!("arn:{PARTITION}:logs:{region}:{account}:log-group:{group}:log-stream:{stream}")
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN into its six parts; `None` if it is not an ARN.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        let prefix = parts.next()?;
        if prefix != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        if arn.partition.is_empty() || arn.service.is_empty() {
            return None;
        }
        Some(arn)
    }

    /// For a logs ARN, the log group name: the resource between `log-group:`
    /// and an optional `:*` or `:log-stream:…` suffix.
    pub fn log_group_name(&self) -> Option<&'a str> {
        let rest = self.resource.strip_prefix("log-group:")?;
        let name = match rest.find(":log-stream:") {
            Some(end) => rest.get(..end)?,
            None => rest.strip_suffix(":*").unwrap_or(rest),
        };
        (!name.is_empty()).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_arns_match_aws_forms() {
        assert_eq!(
            log_group("us-east-1", "000000000000", "/app/api"),
            "arn:aws:logs:us-east-1:000000000000:log-group:/app/api"
        );
        assert_eq!(
            log_group_wildcard("us-east-1", "000000000000", "/app/api"),
            "arn:aws:logs:us-east-1:000000000000:log-group:/app/api:*"
        );
        assert_eq!(
            log_stream("eu-west-1", "1", "g", "s"),
            "arn:aws:logs:eu-west-1:1:log-group:g:log-stream:s"
        );
    }

    #[test]
    fn parses_group_names_from_every_form() {
        for text in [
            "arn:aws:logs:us-east-1:000000000000:log-group:/a/b",
            "arn:aws:logs:us-east-1:000000000000:log-group:/a/b:*",
            "arn:aws:logs:us-east-1:000000000000:log-group:/a/b:log-stream:s1",
        ] {
            let arn = Arn::parse(text).expect("valid arn");
            assert_eq!(arn.service, "logs");
            assert_eq!(arn.log_group_name(), Some("/a/b"));
        }
        assert!(Arn::parse("not-an-arn").is_none());
        assert!(Arn::parse("arn:aws:logs").is_none());
    }
}
