//! The TCSS error codes Shipshape can answer with: the common API 3.0 codes and the tcss-specific
//! ones (list: ../shared/spec/errors.md). The code is the machine-readable part clients surface.

macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// One TCSS / API 3.0 error code. `as_str()` is the exact wire spelling.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum TcssCode { $($variant,)* }

        impl TcssCode {
            /// Every code, in alphabetical order of the wire spelling.
            pub const ALL: &'static [TcssCode] = &[$(TcssCode::$variant,)*];

            /// The wire spelling, e.g. `"AuthFailure.SignatureFailure"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(TcssCode::$variant => $text,)* }
            }
        }
    };
}

codes! {
    ActionOffline => "ActionOffline",
    AuthFailure => "AuthFailure",
    AuthFailureInvalidAuthorization => "AuthFailure.InvalidAuthorization",
    AuthFailureInvalidSecretId => "AuthFailure.InvalidSecretId",
    AuthFailureMFAFailure => "AuthFailure.MFAFailure",
    AuthFailureSecretIdNotFound => "AuthFailure.SecretIdNotFound",
    AuthFailureSignatureExpire => "AuthFailure.SignatureExpire",
    AuthFailureSignatureFailure => "AuthFailure.SignatureFailure",
    AuthFailureTokenFailure => "AuthFailure.TokenFailure",
    AuthFailureUnauthorizedOperation => "AuthFailure.UnauthorizedOperation",
    DryRunOperation => "DryRunOperation",
    FailedOperation => "FailedOperation",
    FailedOperationAgentOffline => "FailedOperation.AgentOffline",
    FailedOperationAuthorizedNotEnough => "FailedOperation.AuthorizedNotEnough",
    FailedOperationDataValueNotCorrect => "FailedOperation.DataValueNotCorrect",
    FailedOperationErrAlreadyScanning => "FailedOperation.ErrAlreadyScanning",
    FailedOperationErrRuleNotFind => "FailedOperation.ErrRuleNotFind",
    FailedOperationNotifyPolicyChangeFailed => "FailedOperation.NotifyPolicyChangeFailed",
    FailedOperationRuleConfigTooMany => "FailedOperation.RuleConfigTooMany",
    FailedOperationRuleInfoRepeat => "FailedOperation.RuleInfoRepeat",
    FailedOperationRuleNameRepeat => "FailedOperation.RuleNameRepeat",
    FailedOperationRuleNotFind => "FailedOperation.RuleNotFind",
    FailedOperationRuleSelectImageOutRange => "FailedOperation.RuleSelectImageOutRange",
    InternalError => "InternalError",
    InternalErrorErrRoleNotExist => "InternalError.ErrRoleNotExist",
    InternalErrorMainDBFail => "InternalError.MainDBFail",
    InvalidAction => "InvalidAction",
    InvalidParameter => "InvalidParameter",
    InvalidParameterErrIpNoValid => "InvalidParameter.ErrIpNoValid",
    InvalidParameterInvalidFormat => "InvalidParameter.InvalidFormat",
    InvalidParameterIpNoValid => "InvalidParameter.IpNoValid",
    InvalidParameterMissingParameter => "InvalidParameter.MissingParameter",
    InvalidParameterParsingError => "InvalidParameter.ParsingError",
    InvalidParameterPortNoValid => "InvalidParameter.PortNoValid",
    InvalidParameterRegexRuleError => "InvalidParameter.RegexRuleError",
    InvalidParameterRequestTimeout => "InvalidParameter.RequestTimeout",
    InvalidParameterReverShellKeyFieldAllEmpty => "InvalidParameter.ReverShellKeyFieldAllEmpty",
    InvalidParameterRuleInfoInValid => "InvalidParameter.RuleInfoInValid",
    InvalidParameterValue => "InvalidParameterValue",
    InvalidParameterValueDataNotFound => "InvalidParameterValue.DataNotFound",
    InvalidParameterValueDataRange => "InvalidParameterValue.DataRange",
    InvalidParameterValueLengthLimit => "InvalidParameterValue.LengthLimit",
    InvalidRequest => "InvalidRequest",
    IpInBlacklist => "IpInBlacklist",
    IpNotInWhitelist => "IpNotInWhitelist",
    LimitExceeded => "LimitExceeded",
    MissingParameter => "MissingParameter",
    NoSuchProduct => "NoSuchProduct",
    NoSuchVersion => "NoSuchVersion",
    OperationDenied => "OperationDenied",
    RequestLimitExceeded => "RequestLimitExceeded",
    RequestLimitExceededIPLimitExceeded => "RequestLimitExceeded.IPLimitExceeded",
    RequestSizeLimitExceeded => "RequestSizeLimitExceeded",
    ResourceInUse => "ResourceInUse",
    ResourceInsufficient => "ResourceInsufficient",
    ResourceNotFound => "ResourceNotFound",
    ResourceUnavailable => "ResourceUnavailable",
    ResponseSizeLimitExceeded => "ResponseSizeLimitExceeded",
    ServiceUnavailable => "ServiceUnavailable",
    UnauthorizedOperation => "UnauthorizedOperation",
    UnknownParameter => "UnknownParameter",
    UnsupportedOperation => "UnsupportedOperation",
    UnsupportedProtocol => "UnsupportedProtocol",
    UnsupportedRegion => "UnsupportedRegion",
}

impl std::fmt::Display for TcssCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::TcssCode;

    #[test]
    fn wire_spelling_is_variant_name_with_dots() {
        for code in TcssCode::ALL {
            assert_eq!(format!("{code:?}"), code.as_str().replace('.', ""));
        }
        assert_eq!(TcssCode::AuthFailureSignatureFailure.as_str(), "AuthFailure.SignatureFailure");
    }
}
