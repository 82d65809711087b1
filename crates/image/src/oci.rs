//! OCI image layout directories (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`).

use crate::config::{Image, parse_config};
use crate::verify::sha256_digest;
use crate::{Error, Member, Platform};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

pub(crate) const INDEX_TYPES: [&str; 2] =
    ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub platform: Option<DescPlatform>,
}

#[derive(Deserialize, Clone)]
pub(crate) struct DescPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
pub(crate) struct Manifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// Picks the manifest for `platform` from an index (variant only compared when both say).
pub(crate) fn pick_platform<'a>(manifests: &'a [Descriptor], platform: &Platform) -> Option<&'a Descriptor> {
    manifests.iter().find(|d| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == platform.os
                && p.architecture == platform.architecture
                && (platform.variant.is_none() || p.variant.is_none() || p.variant == platform.variant)
        })
    })
}

/// A blob path inside the layout; refuses digests that are not plain `alg:hex`.
fn blob_path(dir: &Path, digest: &str) -> Result<std::path::PathBuf, Error> {
    let (alg, hex) = digest.split_once(':').ok_or_else(|| Error::Malformed(format!("digest {digest:?}")))?;
    let ok = matches!(alg, "sha256" | "sha512") && !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(Error::Malformed(format!("digest {digest:?}")));
    }
    Ok(dir.join("blobs").join(alg).join(hex))
}

fn read_blob(dir: &Path, d: &Descriptor) -> Result<Vec<u8>, Error> {
    let path = blob_path(dir, &d.digest)?;
    let f = std::fs::File::open(&path).map_err(Error::io(format!("blob {}", d.digest)))?;
    let mut out = Vec::new();
    f.take(crate::archive::MAX_JSON + 1).read_to_end(&mut out).map_err(Error::io(format!("blob {}", d.digest)))?;
    if out.len() as u64 > crate::archive::MAX_JSON {
        return Err(Error::TooLarge(format!("blob {}", d.digest)));
    }
    if d.size != 0 && d.size != out.len() as u64 {
        return Err(Error::Malformed(format!("blob {}: {} bytes, descriptor says {}", d.digest, out.len(), d.size)));
    }
    if d.digest.starts_with("sha256:") {
        let actual = sha256_digest(&out);
        if actual != d.digest {
            return Err(Error::DigestMismatch { what: "blob".into(), expected: d.digest.clone(), actual });
        }
    }
    Ok(out)
}

/// Opens the image `reference` in an OCI layout: matched against the ref-name annotation,
/// whole (`repo:tag`) or as the tag alone; `None` takes the only image.
pub(crate) fn load(dir: &Path, reference: Option<&str>, platform: &Platform) -> Result<(Image, Vec<Member>), Error> {
    let index_bytes = std::fs::read(dir.join("index.json")).map_err(Error::io(format!("{}/index.json", dir.display())))?;
    let index: Index = serde_json::from_slice(&index_bytes).map_err(|e| Error::Malformed(format!("index.json: {e}")))?;
    let chosen = match reference {
        Some(r) => index.manifests.iter().find(|d| {
            [REF_NAME, CONTAINERD_NAME]
                .iter()
                .any(|k| d.annotations.get(*k).is_some_and(|n| n == r || r.rsplit_once(':').is_some_and(|(_, tag)| n == tag)))
        }),
        None if index.manifests.len() == 1 => index.manifests.first(),
        None => pick_platform(&index.manifests, platform).or(index.manifests.first()),
    }
    .ok_or_else(|| Error::NotFound(format!("image {:?} in {}", reference.unwrap_or("(only)"), dir.display())))?
    .clone();
    let name = chosen.annotations.get(CONTAINERD_NAME).or(chosen.annotations.get(REF_NAME)).cloned();
    let mut desc = chosen;
    // Nested indexes: bounded, a crafted layout cannot loop us.
    for _ in 0..4 {
        if !INDEX_TYPES.contains(&desc.media_type.as_str()) {
            break;
        }
        let inner: Index =
            serde_json::from_slice(&read_blob(dir, &desc)?).map_err(|e| Error::Malformed(format!("index {}: {e}", desc.digest)))?;
        desc = pick_platform(&inner.manifests, platform)
            .ok_or_else(|| Error::NotFound(format!("platform {platform} in index {}", desc.digest)))?
            .clone();
    }
    let manifest: Manifest =
        serde_json::from_slice(&read_blob(dir, &desc)?).map_err(|e| Error::Malformed(format!("manifest {}: {e}", desc.digest)))?;
    let parsed = parse_config(&read_blob(dir, &manifest.config)?)?;
    let mut blobs = Vec::new();
    let mut members = Vec::new();
    for l in &manifest.layers {
        let file = blob_path(dir, &l.digest)?;
        let size = std::fs::metadata(&file).map_err(Error::io(format!("layer blob {}", l.digest)))?.len();
        members.push(Member { file, offset: 0, size });
        blobs.push((Some(l.digest.clone()), Some(size), l.media_type.clone()));
    }
    let tags = name.into_iter().filter(|n| n.contains(':') || n.contains('/')).collect();
    parsed.into_image(tags, vec![], Some(desc.digest.clone()), blobs).map(|img| (img, members))
}
