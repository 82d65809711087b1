//! The registries themselves: add, update, remove, the name check, the list and one registry's detail.

use super::*;

/// `{Quuid, Uuid}` of an agent host (TCSS `ConnDetectConfig`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConnDetectConfig {
    pub quuid: Option<String>,
    pub uuid: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AddAssetImageRegistryRegistryDetailRequest {
    pub name: String,
    pub username: String,
    pub password: String,
    pub url: String,
    pub registry_type: String,
    pub net_type: String,
    pub registry_version: Option<String>,
    pub registry_region: Option<String>,
    pub speed_limit: Option<i64>,
    pub insecure: Option<u64>,
    pub conn_detect_config: Option<Vec<ConnDetectConfig>>,
    pub need_scan: Option<bool>,
    pub sync_mode: Option<u64>,
    pub webhook_url: Option<String>,
    pub webhook_token: Option<String>,
    pub instance_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateAssetImageRegistryRegistryDetailRequest {
    pub name: String,
    pub username: String,
    pub password: String,
    pub url: String,
    pub registry_type: String,
    pub net_type: String,
    pub registry_version: Option<String>,
    pub registry_region: Option<String>,
    pub speed_limit: Option<i64>,
    pub insecure: Option<u64>,
    pub conn_detect_config: Option<Vec<ConnDetectConfig>>,
    pub registry_id: Option<u64>,
    pub sync_mode: Option<u64>,
    pub need_scan: Option<bool>,
    pub instance_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegistryWriteResponse {
    pub health_check_err: String,
    pub name_repeat_err: String,
    pub registry_id: i64,
}

/// `http(s)://HOST[:PORT][/]` or `HOST[:PORT]` → (host, plain http).
pub fn parse_url(url: &str) -> Result<(String, bool), ServiceError> {
    let bad = |why: &str| ServiceError::InvalidFormat { field: "Url", reason: format!("{url:?} {why}") };
    let u = url.trim();
    let (plain, rest) = if let Some(r) = u.strip_prefix("http://") {
        (true, r)
    } else if let Some(r) = u.strip_prefix("https://") {
        (false, r)
    } else if u.contains("://") {
        return Err(bad("must be http:// or https://"));
    } else {
        (false, u)
    };
    let host = rest.trim_end_matches('/').trim_end_matches("/v2").trim_end_matches('/');
    if host.is_empty() {
        return Err(bad("names no host"));
    }
    if host.contains('/') || host.contains('@') || host.contains('?') || host.contains('#') {
        return Err(bad("must be a registry address HOST[:PORT] (no path, user or query)"));
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((n, _)) if !n.ends_with(']') && n.contains(':') => (host, None), // a bare IPv6 address
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    if let Some(p) = port
        && (p.is_empty() || p.parse::<u16>().map_or(true, |p| p == 0))
    {
        return Err(bad("has an invalid port"));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':');
    if name.is_empty() || !name.chars().all(ok) {
        return Err(bad("has an invalid host name"));
    }
    Ok((host.to_ascii_lowercase(), plain))
}

/// The fields Add and Update share, checked.
struct Given<'a> {
    name: &'a str,
    username: &'a str,
    url: &'a str,
    registry_type: &'a str,
    net_type: &'a str,
    registry_version: Option<&'a str>,
    registry_region: Option<&'a str>,
    speed_limit: Option<i64>,
    insecure: Option<u64>,
    conn_detect_config: &'a Option<Vec<ConnDetectConfig>>,
    need_scan: Option<bool>,
    sync_mode: Option<u64>,
    instance_id: Option<&'a str>,
}

fn spec_of(g: Given<'_>) -> Result<RegistrySpec, ServiceError> {
    let name = text("Name", Some(g.name), MAX_NAME)?;
    if name.is_empty() {
        return Err(missing("Name", "a registry needs a name"));
    }
    if name.starts_with(FILE_NAME_PREFIX) {
        return Err(value("Name", format!("names starting with {FILE_NAME_PREFIX:?} are the registries file's")));
    }
    let (host, plain_http) = parse_url(g.url)?;
    let registry_type = g.registry_type.trim().to_ascii_lowercase();
    if !REGISTRY_TYPES.contains(&registry_type.as_str()) {
        return Err(value("RegistryType", format!("{:?} is not one of {}", g.registry_type, REGISTRY_TYPES.join(", "))));
    }
    let net_type = g.net_type.trim().to_ascii_lowercase();
    if !matches!(net_type.as_str(), "public" | "private") {
        return Err(value("NetType", format!("{:?} is not public or private", g.net_type)));
    }
    let speed_limit = g.speed_limit.unwrap_or(0);
    if !(0..=MAX_SPEED).contains(&speed_limit) {
        return Err(value("SpeedLimit", format!("must be 0 (no limit) to {MAX_SPEED} MB/s, got {speed_limit}")));
    }
    let insecure = g.insecure.unwrap_or(0);
    if insecure > 1 {
        return Err(value("Insecure", format!("must be 0 or 1, got {insecure}")));
    }
    let sync_mode = g.sync_mode.unwrap_or(0);
    if sync_mode > 1 {
        return Err(value("SyncMode", format!("must be 0 (full) or 1 (incremental), got {sync_mode}")));
    }
    let hosts = g.conn_detect_config.as_deref().unwrap_or_default();
    if hosts.len() > 100 {
        return Err(ServiceError::LengthLimit { field: "ConnDetectConfig", reason: format!("at most 100 hosts, got {}", hosts.len()) });
    }
    let conn_detect_config = hosts
        .iter()
        .map(|h| {
            Ok((text("ConnDetectConfig.Quuid", h.quuid.as_deref(), MAX_TEXT)?, text("ConnDetectConfig.Uuid", h.uuid.as_deref(), MAX_TEXT)?))
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let version = text("RegistryVersion", g.registry_version, 64)?;
    let region = text("RegistryRegion", g.registry_region, 64)?;
    Ok(RegistrySpec {
        name,
        url: g.url.trim().to_string(),
        host,
        plain_http,
        insecure: insecure == 1,
        username: text("Username", Some(g.username), MAX_TEXT)?,
        registry_type,
        net_type,
        registry_version: if version.is_empty() { "V2".into() } else { version },
        registry_region: if region.is_empty() { "default".into() } else { region },
        speed_limit: speed_limit as u64,
        conn_detect_config,
        need_scan: g.need_scan.unwrap_or(false),
        sync_mode,
        webhook_url: String::new(),
        webhook_token: String::new(),
        instance_id: text("InstanceId", g.instance_id, MAX_TEXT)?,
        repositories: None,
    })
}

fn check_password(p: &str) -> Result<(), ServiceError> {
    if p.contains('\0') {
        return Err(ServiceError::InvalidFormat { field: "Password", reason: "NUL is not allowed".into() });
    }
    if p.len() > 4096 {
        return Err(ServiceError::LengthLimit { field: "Password", reason: "at most 4096 bytes".into() });
    }
    Ok(())
}

fn check_webhook(url: &str) -> Result<(), ServiceError> {
    if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ServiceError::InvalidFormat { field: "WebhookUrl", reason: format!("{url:?} is not an http(s) URL") });
    }
    Ok(())
}

async fn check_conn(svc: &Service, spec: &RegistrySpec, password: Option<&str>) -> ConnStatus {
    match svc.registry_check.get() {
        Some(c) => c.check(spec, password).await,
        None => ConnStatus { status: CONN_DETECTING.into(), message: String::new(), checked_at: None },
    }
}

fn health_err(c: &ConnStatus) -> String {
    if c.status == CONN_SUCCESS || c.status == CONN_DETECTING { String::new() } else { c.message.clone() }
}

fn name_repeat(name: &str, other: i64) -> RegistryWriteResponse {
    RegistryWriteResponse {
        health_check_err: String::new(),
        name_repeat_err: format!("a registry named {name:?} already exists (RegistryId {other}); nothing was changed"),
        registry_id: 0,
    }
}

pub async fn add_registry(
    svc: &Service,
    caller: Caller,
    req: AddAssetImageRegistryRegistryDetailRequest,
) -> Result<RegistryWriteResponse, ServiceError> {
    let mut spec = spec_of(Given {
        name: &req.name,
        username: &req.username,
        url: &req.url,
        registry_type: &req.registry_type,
        net_type: &req.net_type,
        registry_version: req.registry_version.as_deref(),
        registry_region: req.registry_region.as_deref(),
        speed_limit: req.speed_limit,
        insecure: req.insecure,
        conn_detect_config: &req.conn_detect_config,
        need_scan: req.need_scan,
        sync_mode: req.sync_mode,
        instance_id: req.instance_id.as_deref(),
    })?;
    spec.webhook_url = text("WebhookUrl", req.webhook_url.as_deref(), MAX_TEXT)?;
    check_webhook(&spec.webhook_url)?;
    spec.webhook_token = text("WebhookToken", req.webhook_token.as_deref(), MAX_TEXT)?;
    check_password(&req.password)?;
    let password = match (spec.username.is_empty(), req.password.is_empty()) {
        (true, true) => None,
        (false, false) => Some(req.password.as_str()),
        (false, true) => return Err(missing("Password", "a username needs its password (both empty: anonymous)")),
        (true, false) => return Err(missing("Username", "a password needs its username (both empty: anonymous)")),
    };
    if let Some(other) = svc.store.registry_named(caller.account, &spec.name).await? {
        return Ok(name_repeat(&spec.name, other));
    }
    let conn = check_conn(svc, &spec, password).await;
    match svc.store.add_registry(caller.account, &spec, password, &conn).await? {
        RegistryWrite::Done(id) => {
            Ok(RegistryWriteResponse { health_check_err: health_err(&conn), name_repeat_err: String::new(), registry_id: id })
        }
        RegistryWrite::NameTaken(other) => Ok(name_repeat(&spec.name, other)),
        RegistryWrite::NotFound | RegistryWrite::ReadOnly => {
            Err(ServiceError::FailedOperation { reason: "the registry could not be added; try again".into() })
        }
    }
}

fn read_only(r: &Registry) -> ServiceError {
    ServiceError::FailedOperation {
        reason: format!(
            "registry {} ({}) comes from the server's registries file and is read-only here: edit the file and restart the server",
            r.registry_id, r.spec.host
        ),
    }
}

pub async fn update_registry(
    svc: &Service,
    caller: Caller,
    req: UpdateAssetImageRegistryRegistryDetailRequest,
) -> Result<RegistryWriteResponse, ServiceError> {
    let spec = spec_of(Given {
        name: &req.name,
        username: &req.username,
        url: &req.url,
        registry_type: &req.registry_type,
        net_type: &req.net_type,
        registry_version: req.registry_version.as_deref(),
        registry_region: req.registry_region.as_deref(),
        speed_limit: req.speed_limit,
        insecure: req.insecure,
        conn_detect_config: &req.conn_detect_config,
        need_scan: req.need_scan,
        sync_mode: req.sync_mode,
        instance_id: req.instance_id.as_deref(),
    })?;
    check_password(&req.password)?;
    let id = match req.registry_id {
        Some(id) => id_i64("RegistryId", id)?,
        None => svc.store.registry_named(caller.account, &spec.name).await?.ok_or_else(|| not_found("Registry", &spec.name))?,
    };
    let current = svc.store.registry(caller.account, id).await?.ok_or_else(|| not_found("Registry", id))?;
    if current.read_only() {
        return Err(read_only(&current));
    }
    let (change, probe_password) = match (spec.username.is_empty(), req.password.is_empty()) {
        (true, true) => (PasswordChange::Clear, None),
        (true, false) => return Err(missing("Username", "a password needs its username (both empty: anonymous)")),
        (false, false) => (PasswordChange::Set(&req.password), Some(req.password.clone())),
        (false, true) if current.has_password && current.spec.username == spec.username => {
            (PasswordChange::Keep, svc.store.registry_password(caller.account, id).await?)
        }
        (false, true) => return Err(missing("Password", "a new username needs its password")),
    };
    if let Some(other) = svc.store.registry_named(caller.account, &spec.name).await?.filter(|o| *o != id) {
        return Ok(name_repeat(&spec.name, other));
    }
    // Webhook settings are the add's; an update keeps them.
    let spec = RegistrySpec { webhook_url: current.spec.webhook_url.clone(), webhook_token: current.spec.webhook_token.clone(), ..spec };
    let conn = check_conn(svc, &spec, probe_password.as_deref()).await;
    match svc.store.update_registry(caller.account, id, &spec, change, &conn).await? {
        RegistryWrite::Done(id) => {
            Ok(RegistryWriteResponse { health_check_err: health_err(&conn), name_repeat_err: String::new(), registry_id: id })
        }
        RegistryWrite::NameTaken(other) => Ok(name_repeat(&spec.name, other)),
        RegistryWrite::NotFound => Err(not_found("Registry", id)),
        RegistryWrite::ReadOnly => Err(read_only(&current)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegistryIdRequest {
    pub registry_id: u64,
}

#[derive(Debug, Serialize)]
pub struct EmptyResponse {}

pub async fn remove_registry(svc: &Service, caller: Caller, req: RegistryIdRequest) -> Result<EmptyResponse, ServiceError> {
    let id = id_i64("RegistryId", req.registry_id)?;
    match svc.store.remove_registry(caller.account, id).await? {
        RegistryWrite::Done(_) => Ok(EmptyResponse {}),
        RegistryWrite::NotFound => Err(not_found("Registry", id)),
        RegistryWrite::ReadOnly | RegistryWrite::NameTaken(_) => {
            let r = svc.store.registry(caller.account, id).await?.ok_or_else(|| not_found("Registry", id))?;
            Err(read_only(&r))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CheckRepeatAssetImageRegistryRequest {
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckRepeatAssetImageRegistryResponse {
    pub is_repeat: bool,
}

pub async fn check_repeat(
    svc: &Service,
    caller: Caller,
    req: CheckRepeatAssetImageRegistryRequest,
) -> Result<CheckRepeatAssetImageRegistryResponse, ServiceError> {
    let name = text("Name", Some(&req.name), MAX_NAME)?;
    if name.is_empty() {
        return Err(missing("Name", "the name to check"));
    }
    Ok(CheckRepeatAssetImageRegistryResponse { is_repeat: svc.store.registry_named(caller.account, &name).await?.is_some() })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegistryConnDetectResult {
    pub quuid: String,
    pub uuid: String,
    pub conn_detect_status: String,
    pub conn_detect_message: String,
    pub solution: String,
    pub fail_reason: String,
}

fn conn_detail(r: &Registry) -> Vec<RegistryConnDetectResult> {
    let c = &r.conn;
    let (message, solution) = match c.status.as_str() {
        CONN_SUCCESS => ("Success", ""),
        CONN_AUTH_FAILED => ("AuthFailed", "Check the registry's username and password, then update the registry."),
        CONN_FAILED => (
            "ConnFailed",
            "Check the registry's URL and that the Shipshape server reaches it; for a self-signed certificate set Insecure to 1.",
        ),
        _ => ("Detecting", ""),
    };
    vec![RegistryConnDetectResult {
        quuid: "backend".into(),
        uuid: "backend".into(),
        conn_detect_status: if c.status.is_empty() { CONN_DETECTING.into() } else { c.status.clone() },
        conn_detect_message: message.into(),
        solution: solution.into(),
        fail_reason: c.message.clone(),
    }]
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRepoRegistryInfo {
    pub registry_id: i64,
    pub name: String,
    pub registry_type: String,
    pub url: String,
    pub net_type: String,
    pub registry_region: String,
    pub registry_version: String,
    pub connect_msg: String,
    pub conn_detect_type: String,
    pub conn_detect_host_count: u64,
    pub conn_detect_detail: Vec<RegistryConnDetectResult>,
    #[serde(rename = "InstanceID")]
    pub instance_id: String,
    pub latest_sync_time: String,
    pub sync_status: String,
    pub sync_fail_reason: String,
    pub sync_solution: String,
    pub sync_message: String,
    pub sync_mode: u64,
}

fn registry_info(r: &Registry) -> ImageRepoRegistryInfo {
    let failed = r.sync_status == "failed";
    ImageRepoRegistryInfo {
        registry_id: r.registry_id,
        name: r.spec.name.clone(),
        registry_type: r.spec.registry_type.clone(),
        url: r.spec.url.clone(),
        net_type: r.spec.net_type.clone(),
        registry_region: r.spec.registry_region.clone(),
        registry_version: r.spec.registry_version.clone(),
        connect_msg: r.conn.message.clone(),
        conn_detect_type: "backend".into(),
        conn_detect_host_count: 1,
        conn_detect_detail: conn_detail(r),
        instance_id: r.spec.instance_id.clone(),
        latest_sync_time: r.sync_success_at.map(format_utc).unwrap_or_default(),
        sync_status: r.sync_status.clone(),
        sync_fail_reason: if failed { r.sync_error.clone() } else { String::new() },
        sync_solution: if failed {
            "Check the registry's connection status (ConnDetectDetail), then sync again.".into()
        } else {
            String::new()
        },
        sync_message: if failed { r.sync_error.clone() } else { String::new() },
        sync_mode: r.spec.sync_mode,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryRegistryListResponse {
    pub list: Vec<ImageRepoRegistryInfo>,
    pub total_count: u64,
}

/// DescribeAssetImageRegistryRegistryList's filters and sort keys.
const REGISTRY_LIST: ListSpec<Registry> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|r| &r.spec.name])),
        ("RegistryType", Filter::Text(&[|r| &r.spec.registry_type])),
        ("Url", Filter::Text(&[|r| &r.spec.url])),
        ("NetType", Filter::Text(&[|r| &r.spec.net_type])),
        ("RegistryRegion", Filter::Text(&[|r| &r.spec.registry_region])),
        ("SyncStatus", Filter::Text(&[|r| &r.sync_status])),
        ("ConnDetectStatus", Filter::Text(&[|r| &r.conn.status])),
        ("RegistryId", Filter::Equals(|r| r.registry_id.to_string())),
        // Every image is authorised in Shipshape (no licences): `all`/`1` keep, `0` drops.
        ("IsAuthorized", Filter::Flag("Filters.IsAuthorized", |_| true)),
    ],
    sorts: &[
        ("", |a, b| a.registry_id.cmp(&b.registry_id)),
        ("RegistryId", |a, b| a.registry_id.cmp(&b.registry_id)),
        ("Name", |a, b| a.spec.name.cmp(&b.spec.name)),
        ("RegistryType", |a, b| a.spec.registry_type.cmp(&b.spec.registry_type)),
        ("LatestSyncTime", |a, b| a.sync_success_at.cmp(&b.sync_success_at)),
    ],
    tie_break: Some(|a, b| a.registry_id.cmp(&b.registry_id)),
};

pub async fn describe_registry_list(
    svc: &Service,
    caller: Caller,
    req: ListRequest,
) -> Result<DescribeAssetImageRegistryRegistryListResponse, ServiceError> {
    let query = REGISTRY_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let page = query.run(svc.store.registries(caller.account).await?);
    Ok(DescribeAssetImageRegistryRegistryListResponse { list: page.rows.iter().map(registry_info).collect(), total_count: page.total })
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryRegistryDetailResponse {
    pub name: String,
    pub username: String,
    pub password: String,
    pub url: String,
    pub registry_type: String,
    pub registry_version: String,
    pub net_type: String,
    pub registry_region: String,
    pub speed_limit: u64,
    pub insecure: u64,
    pub conn_detect_detail: Vec<RegistryConnDetectResult>,
    #[serde(rename = "InstanceID")]
    pub instance_id: String,
    pub sync_mode: u64,
    pub need_scan: bool,
    pub webhook_url: String,
    pub webhook_token: String,
}

pub async fn describe_registry_detail(
    svc: &Service,
    caller: Caller,
    req: RegistryIdRequest,
) -> Result<DescribeAssetImageRegistryRegistryDetailResponse, ServiceError> {
    let id = id_i64("RegistryId", req.registry_id)?;
    let r = svc.store.registry(caller.account, id).await?.ok_or_else(|| not_found("Registry", id))?;
    Ok(DescribeAssetImageRegistryRegistryDetailResponse {
        conn_detect_detail: conn_detail(&r),
        name: r.spec.name,
        username: r.spec.username,
        password: String::new(),
        url: r.spec.url,
        registry_type: r.spec.registry_type,
        registry_version: r.spec.registry_version,
        net_type: r.spec.net_type,
        registry_region: r.spec.registry_region,
        speed_limit: r.spec.speed_limit,
        insecure: u64::from(r.spec.insecure),
        instance_id: r.spec.instance_id,
        sync_mode: r.spec.sync_mode,
        need_scan: r.spec.need_scan,
        webhook_url: r.spec.webhook_url,
        webhook_token: r.spec.webhook_token,
    })
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    /// Each registry type holding a password or webhook token keeps both out of `Debug`.
    #[test]
    fn registry_secrets_are_masked() {
        let fields = serde_json::json!({"Name": "n", "Username": "u", "Password": "ThePassword", "Url": "http://r",
            "RegistryType": "harbor", "NetType": "public", "WebhookToken": "TheToken"});
        let add: AddAssetImageRegistryRegistryDetailRequest = serde_json::from_value(fields.clone()).unwrap();
        let mut update_fields = fields.clone();
        update_fields.as_object_mut().unwrap().remove("WebhookToken");
        let update: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(update_fields).unwrap();
        let mut describe = DescribeAssetImageRegistryRegistryDetailResponse {
            name: "n".into(),
            username: "u".into(),
            password: "ThePassword".into(),
            url: "http://r".into(),
            webhook_token: "TheToken".into(),
            ..Default::default()
        };
        for shown in [format!("{add:?}"), format!("{update:?}"), format!("{describe:?}")] {
            assert!(shown.contains("http://r") && shown.contains("****"), "{shown}");
            assert!(!shown.contains("ThePassword") && !shown.contains("TheToken"), "{shown}");
        }
        describe.password.clear();
        assert!(!format!("{describe:?}").contains("****"), "an empty password shows as empty");
    }
}
