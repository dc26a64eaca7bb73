//! The case list over HTTPS a page at a time: the `Link` header leads through every case once,
//! and a page size the list cannot serve is refused by name. The overdue list is bounded by its
//! limit in the same way and says how many items there are in all.

use std::collections::BTreeSet;

use trm_node::accounts::Role;

use super::client::{Answer, Who};
use super::setup;

/// The next page's path from a `Link: <path>; rel="next"` header, if there is one.
fn next_page(answer: &Answer) -> Option<String> {
    let link = answer.headers.get("link")?.to_str().ok()?;
    let path = link.strip_prefix('<')?.split_once('>')?.0;
    Some(path.to_owned())
}

fn case_refs(answer: &Answer) -> Vec<String> {
    answer
        .json()
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .filter_map(|c| c["case_ref"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the message `id` has its DELIVERED receipt.
async fn delivered(node: &setup::Node, who: &Who, id: &str) -> anyhow::Result<()> {
    let path = format!("/api/v1/messages/{id}/status");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = node.api.call(who, "GET", &path, None).await?;
        let steps = status.json()["evidence"].clone();
        if steps
            .as_array()
            .is_some_and(|e| e.iter().any(|s| s["step"] == "delivered"))
        {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{id} not delivered: {}",
            status.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_header_leads_through_every_case_once() -> anyhow::Result<()> {
    let node = setup::start().await?;
    let who = setup::sign_in(&node, Role::Caseworker).await?;
    let api = &node.api;
    let (mut sent, mut ids) = (BTreeSet::new(), Vec::new());
    for n in 0..5 {
        let mut referral = setup::referral_json()?;
        let case_ref = format!("PAGE-2026-{n:03}");
        referral["case_ref"] = case_ref.clone().into();
        let answer = api
            .call(&who, "POST", "/api/v1/send/referral", Some(&referral))
            .await?;
        anyhow::ensure!(answer.status == 201, "send: {}", answer.text());
        sent.insert(case_ref);
        ids.push(
            answer.json()["message_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    // A case whose receipt arrives is active again and moves to the top of the list, above
    // the pages a client has read: the list is paged once every receipt is in.
    for id in &ids {
        delivered(&node, &who, id).await?;
    }

    let mut seen = Vec::new();
    let mut path = Some("/api/v1/cases?page_size=2".to_owned());
    let mut pages = 0;
    while let Some(at) = path {
        let page = api.call(&who, "GET", &at, None).await?;
        assert_eq!(page.status, 200, "{at}: {}", page.text());
        let refs = case_refs(&page);
        assert!(refs.len() <= 2, "{at}: {refs:?}");
        seen.extend(refs);
        path = next_page(&page);
        pages += 1;
        anyhow::ensure!(pages <= 5, "the pages do not end: {seen:?}");
    }
    assert_eq!(pages, 3, "five cases two at a time: {seen:?}");
    assert_eq!(seen.len(), 5, "each case once: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), sent);

    // Without a page size: the first page of the default size, here every case, no link.
    let all = api.call(&who, "GET", "/api/v1/cases", None).await?;
    assert_eq!(case_refs(&all).len(), 5, "{}", all.text());
    assert_eq!(next_page(&all), None);

    for (size, field) in [("0", "page_size"), ("501", "page_size")] {
        let refused = api
            .call(
                &who,
                "GET",
                &format!("/api/v1/cases?page_size={size}"),
                None,
            )
            .await?;
        assert_eq!(refused.status, 400, "{size}: {}", refused.text());
        assert!(refused.text().contains(field), "{size}: {}", refused.text());
    }

    // Nothing is due yet: an empty list, and the count of all says so.
    for path in ["/api/v1/overdue", "/api/v1/overdue?limit=1000"] {
        let overdue = api.call(&who, "GET", path, None).await?;
        assert_eq!(overdue.status, 200, "{path}: {}", overdue.text());
        assert_eq!(overdue.json(), serde_json::json!([]), "{path}");
        let total = overdue.headers.get("x-total-count");
        assert_eq!(total.and_then(|t| t.to_str().ok()), Some("0"), "{path}");
    }
    for limit in ["0", "1001"] {
        let refused = api
            .call(&who, "GET", &format!("/api/v1/overdue?limit={limit}"), None)
            .await?;
        assert_eq!(refused.status, 400, "{limit}: {}", refused.text());
        assert!(
            refused.text().contains("limit:"),
            "{limit}: {}",
            refused.text()
        );
    }
    Ok(())
}
