//! The action table: TCSS action name → handler. `service::actions()` builds it from typed handlers
//! with [`action`]; names that are real TCSS actions but not built yet use [`unsupported`].

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use model::AccountId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::code::TcssCode;
use crate::envelope;
use crate::error::ApiError;

/// Who is calling what: produced by the TC3 layer, handed to every handler.
#[derive(Debug, Clone)]
pub struct Caller {
    pub request_id: String,
    pub account: AccountId,
    pub secret_id: String,
    pub action: &'static str,
    pub region: Option<String>,
    /// `http(s)://HOST` the request was sent to (its `Host` header, the scheme from the listener),
    /// for links handed back in a response (export downloads); `None` when the Host header is
    /// missing or not a plain host name.
    pub origin: Option<String>,
}

/// A type-erased handler: raw JSON body in, full serialised envelope out.
pub type HandlerFuture = BoxFuture<'static, Result<Vec<u8>, ApiError>>;
type HandlerFn = dyn Fn(Caller, Bytes) -> HandlerFuture + Send + Sync;

/// One entry of the table.
pub struct Action {
    pub name: &'static str,
    unsupported: bool,
    mutating: bool,
    agent_only: bool,
    handler: Arc<HandlerFn>,
}

impl Action {
    /// Whether this entry is an [`unsupported`] placeholder.
    pub fn is_unsupported(&self) -> bool {
        self.unsupported
    }

    /// Whether the action changes state: a replayed signature is refused for it (see [`crate::replay`]).
    pub fn is_mutating(&self) -> bool {
        self.mutating
    }

    /// Overrides the name-based [`is_mutating_name`] classification (a `Describe…` that writes).
    pub fn mutating(mut self, yes: bool) -> Self {
        self.mutating = yes;
        self
    }

    /// Makes this an action for agent keys only ([`model::KeyRole::Agent`]): they can call it
    /// and nothing else, and other keys cannot call it (`AuthFailure.UnauthorizedOperation`).
    pub fn agent_only(mut self) -> Self {
        self.agent_only = true;
        self
    }
}

/// The default classification by verb: `Describe…` (except the `…Export` ones, which create export
/// jobs) and `Check…` only read; every other verb (Create, Modify, Scan, Add, Delete, Remove, Update,
/// Sync, Stop, Set, Switch, Renew, Open, Initialize, Confirm, Export, Uninstall, Reset…) writes.
/// Unknown verbs count as writes, so a new action is protected until said otherwise.
pub fn is_mutating_name(name: &str) -> bool {
    let reads = (name.starts_with("Describe") && !name.ends_with("Export")) || name.starts_with("Check");
    !reads
}

/// A typed action: the body is decoded into `Req` (errors → `InvalidParameter*` / `UnknownParameter`
/// naming the field), the handler's `Resp` is rendered with its TCSS field names plus `RequestId`.
pub fn action<Req, Resp, E, F, Fut>(name: &'static str, handler: F) -> Action
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    E: Into<ApiError> + Send + 'static,
    F: Fn(Caller, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    let handler = Arc::new(handler);
    Action {
        name,
        unsupported: false,
        mutating: is_mutating_name(name),
        agent_only: false,
        handler: Arc::new(move |caller: Caller, body: Bytes| {
            let handler = Arc::clone(&handler);
            Box::pin(async move {
                let req: Req = decode_body(&body)?;
                let request_id = caller.request_id.clone();
                let resp = handler(caller, req).await.map_err(Into::into)?;
                envelope::success_bytes(&resp, &request_id).map_err(ApiError::internal)
            })
        }),
    }
}

/// A real TCSS action that Shipshape does not implement yet: always `UnsupportedOperation` naming it.
pub fn unsupported(name: &'static str) -> Action {
    Action {
        name,
        unsupported: true,
        mutating: is_mutating_name(name),
        agent_only: false,
        handler: Arc::new(move |_caller: Caller, _body: Bytes| Box::pin(async move { Err(ApiError::unsupported_operation(name)) })),
    }
}

/// Two entries with the same name.
#[derive(Debug, thiserror::Error)]
#[error("action `{0}` is listed twice")]
pub struct DuplicateAction(pub &'static str);

/// Name → handler. Names not in the table are answered with `InvalidAction`.
pub struct ActionTable {
    map: HashMap<&'static str, (Arc<HandlerFn>, bool)>,
    agent_only: HashSet<&'static str>,
}

impl ActionTable {
    pub fn new(actions: Vec<Action>) -> Result<Self, DuplicateAction> {
        let mut map = HashMap::with_capacity(actions.len());
        let mut agent_only = HashSet::new();
        for a in actions {
            if a.agent_only {
                agent_only.insert(a.name);
            }
            if map.insert(a.name, (a.handler, a.mutating)).is_some() {
                return Err(DuplicateAction(a.name));
            }
        }
        Ok(ActionTable { map, agent_only })
    }

    /// The canonical (static) name and handler of `name`.
    pub fn get(&self, name: &str) -> Option<(&'static str, Arc<HandlerFn>)> {
        self.map.get_key_value(name).map(|(k, (h, _))| (*k, Arc::clone(h)))
    }

    /// The canonical name of `name` and whether it changes state.
    pub fn resolve(&self, name: &str) -> Option<(&'static str, bool)> {
        self.map.get_key_value(name).map(|(k, (_, m))| (*k, *m))
    }

    /// Whether a key of `role` may call `action`: agent keys the agent-only actions, every
    /// other key all the rest.
    pub fn allows(&self, role: model::KeyRole, action: &str) -> bool {
        self.agent_only.contains(action) == (role == model::KeyRole::Agent)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Deepest nesting of objects and arrays a body may have (the top-level object is depth 1). TCSS
/// structures nest 4 deep at most; the bound keeps the decoder's recursion and work small.
pub const MAX_JSON_DEPTH: usize = 32;
/// Most elements one JSON array may have. Bounds the work and the rows/SQL parameters one request
/// can cause (SQLite allows 32,766 parameters per statement); a larger set is sent in several calls.
pub const MAX_ARRAY_LEN: usize = 1000;

/// Decodes a request body into `Req`, classifying failures the way TCSS does:
/// not JSON / not an object / nested deeper than [`MAX_JSON_DEPTH`] → `InvalidParameter.ParsingError`;
/// an array longer than [`MAX_ARRAY_LEN`] → `InvalidParameterValue.LengthLimit`; unknown field →
/// `UnknownParameter`; missing field → `InvalidParameter.MissingParameter`; wrong type →
/// `InvalidParameter`. Messages name the field.
pub fn decode_body<Req: DeserializeOwned>(body: &[u8]) -> Result<Req, ApiError> {
    // serde would also accept a JSON array for a struct (fields by position); TCSS bodies are objects.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some() && first != Some(&b'{') {
        return Err(ApiError::new(TcssCode::InvalidParameterParsingError, "The request body must be a JSON object."));
    }
    // Syntax (trailing garbage included) and the shape limits first, so neither is reported as a
    // field error; one pass that allocates nothing but the path of a violation.
    crate::json_limits::check(body, MAX_JSON_DEPTH, MAX_ARRAY_LEN)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let result: Result<Req, serde_path_to_error::Error<serde_json::Error>> = serde_path_to_error::deserialize(&mut de);
    match result {
        Ok(req) => {
            de.end().map_err(|e| parsing_error(&e))?;
            Ok(req)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if !inner.is_data() {
                return Err(parsing_error(&inner));
            }
            Err(classify_data_error(&path, &without_position(&inner)))
        }
    }
}

pub(crate) fn parsing_error(e: &serde_json::Error) -> ApiError {
    ApiError::new(TcssCode::InvalidParameterParsingError, format!("The request body is not a valid JSON object: {e}."))
}

/// serde's messages for these two cases are fixed by `serde::de::Error::{unknown_field, missing_field}`.
fn classify_data_error(path: &str, msg: &str) -> ApiError {
    let qualify = |field: &str| {
        if path == "." { field.to_string() } else { format!("{path}.{field}") }
    };
    if let Some(field) = backticked(msg, "unknown field `") {
        // serde_path_to_error already puts the unknown key at the end of the path.
        let name = if path.ends_with(field) { path.to_string() } else { qualify(field) };
        return ApiError::new(TcssCode::UnknownParameter, format!("The parameter `{name}` is not recognized."));
    }
    if let Some(field) = backticked(msg, "missing field `") {
        return ApiError::new(
            TcssCode::InvalidParameterMissingParameter,
            format!("The required parameter `{}` is missing.", qualify(field)),
        );
    }
    if path == "." {
        // The top-level value has the wrong shape (an array, a string…).
        return ApiError::new(TcssCode::InvalidParameterParsingError, format!("The request body must be a JSON object: {msg}."));
    }
    ApiError::new(TcssCode::InvalidParameter, format!("The parameter `{path}` is invalid: {msg}."))
}

fn backticked<'m>(msg: &'m str, prefix: &str) -> Option<&'m str> {
    msg.strip_prefix(prefix)?.split('`').next()
}

fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    #[allow(dead_code, reason = "the fields are read only by deny_unknown_fields decoding")]
    struct Req {
        scan_period: u64,
        images: Option<Vec<String>>,
        filters: Option<Vec<Filter>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    #[allow(dead_code, reason = "the fields are read only by deny_unknown_fields decoding")]
    struct Filter {
        name: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}

    fn code(body: &str) -> (TcssCode, String) {
        let e = decode_body::<Req>(body.as_bytes()).unwrap_err();
        (e.code, e.message)
    }

    #[test]
    fn classification() {
        assert!(decode_body::<Req>(br#"{"ScanPeriod": 3}"#).is_ok());
        assert_eq!(code("not json").0, TcssCode::InvalidParameterParsingError);
        assert_eq!(code("").0, TcssCode::InvalidParameterParsingError);
        assert_eq!(code(r#"{"ScanPeriod": 3} x"#).0, TcssCode::InvalidParameterParsingError);
        assert_eq!(code("{} {}").0, TcssCode::InvalidParameterParsingError);
        assert_eq!(code("[1]").0, TcssCode::InvalidParameterParsingError);
        assert_eq!(code("[3, null, null]").0, TcssCode::InvalidParameterParsingError);
        let (c, m) = code(r#"{"ScanPeriod": 3, "Bogus": 1}"#);
        assert_eq!(c, TcssCode::UnknownParameter);
        assert!(m.contains("`Bogus`"), "{m}");
        let (c, m) = code("{}");
        assert_eq!(c, TcssCode::InvalidParameterMissingParameter);
        assert!(m.contains("`ScanPeriod`"), "{m}");
        let (c, m) = code(r#"{"ScanPeriod": "x"}"#);
        assert_eq!(c, TcssCode::InvalidParameter);
        assert!(m.contains("`ScanPeriod`") && !m.contains("line 1"), "{m}");
        let (c, m) = code(r#"{"ScanPeriod": -1}"#);
        assert_eq!(c, TcssCode::InvalidParameter);
        assert!(m.contains("`ScanPeriod`"), "{m}");
        let (c, m) = code(r#"{"ScanPeriod": 1, "Images": [1]}"#);
        assert_eq!(c, TcssCode::InvalidParameter);
        assert!(m.contains("`Images[0]`"), "{m}");
        let (c, m) = code(r#"{"ScanPeriod": 1, "Filters": [{}]}"#);
        assert_eq!(c, TcssCode::InvalidParameterMissingParameter);
        assert!(m.contains("`Filters[0].Name`"), "{m}");
        let (c, m) = code(r#"{"ScanPeriod": 1, "Filters": [{"Name": "a", "X": 1}]}"#);
        assert_eq!(c, TcssCode::UnknownParameter);
        assert!(m.contains("X`"), "{m}");
        assert!(decode_body::<Empty>(b"{}").is_ok());
        assert_eq!(decode_body::<Empty>(br#"{"A":1}"#).unwrap_err().code, TcssCode::UnknownParameter);
    }
}
