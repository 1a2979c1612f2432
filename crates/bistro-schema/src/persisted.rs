//! Persisted documents: requests that name their document by hash.
//!
//! Three ways a request names its document ([`DocumentRef`]):
//!
//! - **Text**: `query`, as always; its key is the SHA-256 of the text.
//! - **Trusted document id**: `documentId` (the GraphQL over HTTP
//!   persisted-documents proposal), `"sha256:<hex>"` or the bare hex. It
//!   must be in a manifest ([`TrustedDocuments`]): the storefront's, built
//!   into the binary, and those registered with `bistro documents add`.
//! - **Automatic persisted queries** (APQ), as Apollo Client's
//!   persisted-queries link speaks them: `extensions.persistedQuery
//!   { version: 1, sha256Hash }`, with or without `query`. Without it, the
//!   hash is looked up (a manifest, this replica's parsed documents, then the
//!   key-value store, shared by every replica); unknown, the answer is
//!   `PersistedQueryNotFound` and the link sends the text with the hash,
//!   which is checked to be the text's SHA-256 and registered
//!   (`bistro_data::persisted`).
//!
//! Every way ends at a SHA-256, so the parsed-document cache is keyed by it,
//! and a request by hash that this replica parsed before costs no store
//! round trip and no parsing.
//!
//! Manifests come in two formats ([`parse_manifest`]): GraphQL Code
//! Generator's `persisted-documents.json` (`{ "<hash>": "<document>" }`)
//! and Apollo's persisted query manifest (`{ "format":
//! "apollo-persisted-query-manifest", "version": 1, "operations": [{ "id",
//! "name", "type", "body" }] }`). Ids must be SHA-256 hashes of their body:
//! SHA-1 manifests (codegen's default) are refused with a message naming
//! the setting that fixes them (`hashAlgorithm: 'sha256'`), since a SHA-1
//! id cannot be checked against the text a client registers, and SHA-1
//! collisions can be made.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The SHA-256 of `text`, in lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    sha256_hex_bytes(text.as_bytes())
}

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `s` is 64 lowercase or uppercase hex digits.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How a request names its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentRef {
    /// The text itself (`query`).
    Text(String),
    /// A trusted document's id (`documentId`): its SHA-256, lowercase hex.
    Trusted(String),
    /// Automatic persisted queries: the SHA-256 (lowercase hex) the client
    /// computed, and the text when it sent it (to register it).
    Apq {
        /// The hash, lowercase hex.
        hash: String,
        /// The text, on the link's retry after `PersistedQueryNotFound`.
        text: Option<String>,
    },
}

impl DocumentRef {
    /// Reads the document's name from a request's `query`, `documentId` and
    /// `extensions.persistedQuery`; the error is a message for a
    /// `BAD_REQUEST` (the request is malformed).
    pub fn from_params(
        query: Option<Value>,
        document_id: Option<Value>,
        persisted_query: Option<&Value>,
    ) -> Result<Self, String> {
        let query = match query {
            None | Some(Value::Null) => None,
            Some(Value::String(query)) => Some(query),
            Some(_) => return Err("`query` must be a string.".to_owned()),
        };
        let document_id = match document_id {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id),
            Some(_) => return Err("`documentId` must be a string.".to_owned()),
        };
        let persisted = match persisted_query {
            None | Some(Value::Null) => None,
            Some(Value::Object(persisted)) => Some(persisted),
            Some(_) => return Err("`extensions.persistedQuery` must be an object.".to_owned()),
        };
        // graphql-ws insists on a `query` string in every subscribe message:
        // clients that name the document otherwise send an empty one.
        let query =
            query.filter(|q| !(q.is_empty() && (document_id.is_some() || persisted.is_some())));
        if let Some(id) = document_id {
            if query.is_some() || persisted.is_some() {
                return Err(
                    "Send either `documentId` or `query` (with or without `extensions.persistedQuery`), not both."
                        .to_owned(),
                );
            }
            let hex = id.strip_prefix("sha256:").unwrap_or(&id);
            if !is_sha256_hex(hex) {
                return Err(
                    "`documentId` must be `sha256:` followed by the document's SHA-256 in hex (64 digits)."
                        .to_owned(),
                );
            }
            return Ok(Self::Trusted(hex.to_ascii_lowercase()));
        }
        if let Some(persisted) = persisted {
            if persisted.get("version").and_then(Value::as_i64) != Some(1) {
                return Err(
                    "Unsupported persisted query version: `extensions.persistedQuery.version` must be 1."
                        .to_owned(),
                );
            }
            let hash = match persisted.get("sha256Hash") {
                Some(Value::String(hash)) if is_sha256_hex(hash) => hash.to_ascii_lowercase(),
                _ => {
                    return Err(
                        "`extensions.persistedQuery.sha256Hash` must be a SHA-256 in hex (64 digits)."
                            .to_owned(),
                    );
                }
            };
            return Ok(Self::Apq { hash, text: query });
        }
        match query {
            Some(query) => Ok(Self::Text(query)),
            None => Err(
                "A `query` parameter is required (or `documentId`, or `extensions.persistedQuery`)."
                    .to_owned(),
            ),
        }
    }
}

/// A GraphQL request as a transport received it: the request (its `query`
/// empty until the document is known) and how it names its document.
pub struct Incoming {
    /// Operation name, variables, extensions.
    pub request: async_graphql::Request,
    /// How it names its document.
    pub document: DocumentRef,
}

impl Incoming {
    /// A request that carries its text.
    pub fn text(request: async_graphql::Request) -> Self {
        let text = request.query.clone();
        Self {
            request,
            document: DocumentRef::Text(text),
        }
    }
}

/// A trusted document: its text and the clients whose manifests list it.
#[derive(Debug)]
pub struct TrustedDocument {
    /// The text, exactly as hashed.
    pub body: Arc<str>,
    /// The operation's name, when a manifest gave one.
    pub operation_name: Option<String>,
    /// The clients whose manifests list it.
    pub clients: Vec<String>,
}

/// Trusted documents by SHA-256 (lowercase hex).
type TrustedSet = HashMap<String, Arc<TrustedDocument>>;

/// The trusted documents this replica knows, by SHA-256: shared by every
/// request, replaced whole when the manifests change.
#[derive(Clone, Default)]
pub struct TrustedDocuments {
    set: Arc<RwLock<Arc<TrustedSet>>>,
}

/// One document of a manifest, checked: its id is the SHA-256 of its body,
/// which parses as GraphQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// SHA-256 of `body`, lowercase hex.
    pub id: String,
    /// The operation's name, when the manifest gives one (or the document names its one operation).
    pub operation_name: Option<String>,
    /// The text.
    pub body: String,
}

impl TrustedDocuments {
    /// The document with this SHA-256 (lowercase hex), when a manifest lists it.
    pub fn get(&self, hash: &str) -> Option<Arc<TrustedDocument>> {
        self.read().get(hash).cloned()
    }

    /// Whether a manifest lists the document with this SHA-256.
    pub fn contains(&self, hash: &str) -> bool {
        self.read().contains_key(hash)
    }

    /// How many documents are trusted.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no document is trusted.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Replaces the whole set with the documents of `manifests` (client
    /// name, its entries).
    pub fn replace<'a>(&self, manifests: impl IntoIterator<Item = (&'a str, &'a [ManifestEntry])>) {
        let mut set: HashMap<String, TrustedDocument> = HashMap::new();
        for (client, entries) in manifests {
            for entry in entries {
                let document = set
                    .entry(entry.id.clone())
                    .or_insert_with(|| TrustedDocument {
                        body: Arc::from(entry.body.as_str()),
                        operation_name: entry.operation_name.clone(),
                        clients: Vec::new(),
                    });
                if !document.clients.iter().any(|c| c == client) {
                    document.clients.push(client.to_owned());
                }
            }
        }
        let set = set.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        *self
            .set
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
    }

    fn read(&self) -> Arc<TrustedSet> {
        self.set
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or neither format.
    #[error("{0}")]
    Format(String),
    /// A document id that is a SHA-1 (40 hex digits).
    #[error(
        "document {0} has a SHA-1 id: Bistro takes SHA-256 ids only. With GraphQL Code Generator's client preset, set `presetConfig.persistedDocuments.hashAlgorithm: 'sha256'` and generate again"
    )]
    Sha1(String),
    /// An id that is not the SHA-256 of its body.
    #[error("document {id}: its id is not the SHA-256 of its body (that is {actual})")]
    HashMismatch {
        /// The id in the manifest.
        id: String,
        /// The SHA-256 of the body.
        actual: String,
    },
    /// A body that is not GraphQL.
    #[error("document {id} does not parse as GraphQL: {message}")]
    Parse {
        /// The id in the manifest.
        id: String,
        /// The parser's message.
        message: String,
    },
}

/// Reads a manifest in either format (see the module docs) and checks every
/// document: its id is the SHA-256 of its body, and the body parses.
pub fn parse_manifest(bytes: &[u8]) -> Result<Vec<ManifestEntry>, ManifestError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ManifestError::Format(format!("the manifest is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ManifestError::Format(
            "a manifest is a JSON object: codegen's { \"<hash>\": \"<document>\" } or Apollo's persisted query manifest".to_owned(),
        ));
    };
    let raw: Vec<(String, Option<String>, String)> = if map.get("format").is_some() {
        if map.get("format").and_then(Value::as_str) != Some("apollo-persisted-query-manifest") {
            return Err(ManifestError::Format(
                "unknown `format`: expected \"apollo-persisted-query-manifest\"".to_owned(),
            ));
        }
        if map.get("version").and_then(Value::as_i64) != Some(1) {
            return Err(ManifestError::Format(
                "unsupported Apollo manifest `version`: expected 1".to_owned(),
            ));
        }
        let Some(Value::Array(operations)) = map.get("operations") else {
            return Err(ManifestError::Format(
                "an Apollo manifest needs an `operations` array".to_owned(),
            ));
        };
        let mut raw = Vec::with_capacity(operations.len());
        for operation in operations {
            let field = |name: &str| operation.get(name).and_then(Value::as_str);
            let (Some(id), Some(body)) = (field("id"), field("body")) else {
                return Err(ManifestError::Format(
                    "every operation of an Apollo manifest needs a string `id` and `body`"
                        .to_owned(),
                ));
            };
            raw.push((
                id.to_owned(),
                field("name").map(str::to_owned),
                body.to_owned(),
            ));
        }
        raw
    } else {
        let mut raw = Vec::with_capacity(map.len());
        for (id, body) in map {
            let Value::String(body) = body else {
                return Err(ManifestError::Format(format!(
                    "document {id}: a codegen manifest maps each hash to the document's text"
                )));
            };
            raw.push((id, None, body));
        }
        raw
    };
    let mut entries = Vec::with_capacity(raw.len());
    for (id, name, body) in raw {
        let hex = id.strip_prefix("sha256:").unwrap_or(&id);
        if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ManifestError::Sha1(id));
        }
        let actual = sha256_hex(&body);
        if !hex.eq_ignore_ascii_case(&actual) {
            return Err(ManifestError::HashMismatch { id, actual });
        }
        let parsed =
            async_graphql::parser::parse_query(&body).map_err(|e| ManifestError::Parse {
                id: id.clone(),
                message: e.to_string(),
            })?;
        let operation_name = name.or_else(|| match &parsed.operations {
            async_graphql::parser::types::DocumentOperations::Single(_) => None,
            async_graphql::parser::types::DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                ops.keys().next().map(ToString::to_string)
            }
            async_graphql::parser::types::DocumentOperations::Multiple(_) => None,
        });
        entries.push(ManifestEntry {
            id: actual,
            operation_name,
            body,
        });
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DOC: &str = "query Ping { __typename }";

    #[test]
    fn the_hash_is_sha256_in_lowercase_hex() {
        // printf '' | sha256sum
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(sha256_hex(DOC).len(), 64);
    }

    #[test]
    fn a_request_names_its_document_one_way() {
        let hash = sha256_hex(DOC);
        let apq = json!({ "version": 1, "sha256Hash": hash });
        assert_eq!(
            DocumentRef::from_params(Some(json!(DOC)), None, None),
            Ok(DocumentRef::Text(DOC.to_owned()))
        );
        assert_eq!(
            DocumentRef::from_params(None, Some(json!(format!("sha256:{hash}"))), None),
            Ok(DocumentRef::Trusted(hash.clone()))
        );
        assert_eq!(
            DocumentRef::from_params(None, Some(json!(hash.to_uppercase())), None),
            Ok(DocumentRef::Trusted(hash.clone()))
        );
        assert_eq!(
            DocumentRef::from_params(Some(json!("")), Some(json!(hash)), None),
            Ok(DocumentRef::Trusted(hash.clone()))
        );
        assert_eq!(
            DocumentRef::from_params(None, None, Some(&apq)),
            Ok(DocumentRef::Apq {
                hash: hash.clone(),
                text: None
            })
        );
        assert_eq!(
            DocumentRef::from_params(Some(json!(DOC)), None, Some(&apq)),
            Ok(DocumentRef::Apq {
                hash: hash.clone(),
                text: Some(DOC.to_owned())
            })
        );
        for (query, id, persisted) in [
            (None, None, None),
            (Some(json!(1)), None, None),
            (Some(json!(DOC)), Some(json!(hash)), None),
            (None, Some(json!("sha1:abc")), None),
            (None, Some(json!(7)), None),
            (
                None,
                None,
                Some(json!({ "version": 2, "sha256Hash": hash })),
            ),
            (
                None,
                None,
                Some(json!({ "version": 1, "sha256Hash": "abc" })),
            ),
            (None, None, Some(json!("x"))),
        ] {
            assert!(
                DocumentRef::from_params(query.clone(), id.clone(), persisted.as_ref()).is_err(),
                "{query:?} {id:?} {persisted:?}"
            );
        }
    }

    #[test]
    fn both_manifest_formats_are_read_and_checked() {
        let hash = sha256_hex(DOC);
        let codegen = json!({ hash.clone(): DOC }).to_string();
        let apollo = json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash, "name": "Ping", "type": "query", "body": DOC }]
        })
        .to_string();
        let expected = vec![ManifestEntry {
            id: hash.clone(),
            operation_name: Some("Ping".to_owned()),
            body: DOC.to_owned(),
        }];
        assert_eq!(parse_manifest(codegen.as_bytes()), Ok(expected.clone()));
        assert_eq!(parse_manifest(apollo.as_bytes()), Ok(expected));

        let sha1 = json!({ "0123456789abcdef0123456789abcdef01234567": DOC }).to_string();
        assert!(matches!(
            parse_manifest(sha1.as_bytes()),
            Err(ManifestError::Sha1(_))
        ));
        let other = sha256_hex("something else");
        let wrong = json!({ other: DOC }).to_string();
        assert!(matches!(
            parse_manifest(wrong.as_bytes()),
            Err(ManifestError::HashMismatch { .. })
        ));
        let junk = "query {";
        let unparsable = json!({ sha256_hex(junk): junk }).to_string();
        assert!(matches!(
            parse_manifest(unparsable.as_bytes()),
            Err(ManifestError::Parse { .. })
        ));
        assert!(parse_manifest(b"[]").is_err());
        assert!(parse_manifest(b"{\"format\":\"other\"}").is_err());
    }

    #[test]
    fn the_trusted_set_is_replaced_whole_and_knows_each_documents_clients() {
        let trusted = TrustedDocuments::default();
        let entry = ManifestEntry {
            id: sha256_hex(DOC),
            operation_name: Some("Ping".to_owned()),
            body: DOC.to_owned(),
        };
        let one = [entry.clone()];
        trusted.replace([("web", &one[..]), ("ios", &one[..])]);
        assert_eq!(trusted.len(), 1);
        assert_eq!(trusted.get(&entry.id).unwrap().clients, ["web", "ios"]);
        trusted.replace([]);
        assert!(!trusted.contains(&entry.id));
    }
}
