//! Files named `.nix` whose text is a sops-encrypted JSON document: some clans keep values
//! encrypted in the repository and decrypt them in place before evaluating (`sops decrypt -i`,
//! a git filter). Such a file is not Nix until then; what it holds is unknown to clanc.

/// Whether `text` is a sops-encrypted JSON document: an object with a `sops` object holding
/// sops' metadata (`mac`, `lastmodified`) and at least one `ENC[...]` value.
pub fn is_sops_encrypted(text: &str) -> bool {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') || !trimmed.contains("ENC[") {
        return false;
    }
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(trimmed)
    else {
        return false;
    };
    matches!(
        doc.get("sops"),
        Some(serde_json::Value::Object(meta)) if meta.contains_key("mac") || meta.contains_key("lastmodified")
    )
}

#[cfg(test)]
mod tests {
    use super::is_sops_encrypted;

    #[test]
    fn a_sops_document_and_what_is_not_one() {
        let doc = r#"{
  "data": "ENC[AES256_GCM,data:aGk=,iv:AAAA,tag:BBBB,type:str]",
  "sops": { "age": [], "lastmodified": "2025-01-01T00:00:00Z", "mac": "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]" }
}"#;
        assert!(is_sops_encrypted(doc));
        // Nix that merely mentions sops
        assert!(!is_sops_encrypted(r#"{ sops = { mac = "ENC[x]"; }; }"#));
        // JSON without sops metadata
        assert!(!is_sops_encrypted(
            r#"{ "data": "ENC[AES256_GCM,data:aGk=]" }"#
        ));
        assert!(!is_sops_encrypted(""));
    }
}
