//! `?watch=true`: a stream of JSON lines, `{"type":"ADDED","object":{...}}`, as the apiserver
//! sends them. Without a resource version (or with `0`) the stream starts with an `ADDED`
//! event per matching object; with one, it replays the changes after it.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::router::{Req, Target};
use super::selectors::Selector;
use super::state::{Shared, str_at};
use super::status::{ApiError, Reply};
use crate::server::ChannelBody;

fn line(kind: &str, object: &Value) -> Bytes {
    let mut text =
        serde_json::to_vec(&json!({"type": kind, "object": object})).expect("serialize an event");
    text.push(b'\n');
    Bytes::from(text)
}

/// Starts a watch of the target's collection.
pub(crate) fn watch(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let selector = Selector::parse(
        target.resource,
        req.param("labelSelector"),
        req.param("fieldSelector"),
    )?;
    let timeout = req
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let since = match req.param("resourceVersion") {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?,
        ),
    };
    let shown = target.resource;
    let resource = shown.storage();
    let namespace = target.namespace.clone();
    let matches = move |object: &Value| {
        namespace
            .as_deref()
            .is_none_or(|ns| str_at(object, "/metadata/namespace") == ns)
            && selector.matches(object)
    };
    let store = shared.store();
    let mut initial: Vec<Bytes> = Vec::new();
    let receiver = match since {
        None => {
            let (receiver, _) = store.subscribe_after(store.rv());
            for (_, object) in store.range(resource, target.namespace.as_deref(), None) {
                if matches(object) {
                    initial.push(line("ADDED", &shown.present(object)));
                }
            }
            receiver
        }
        Some(rv) => {
            let (receiver, replay) = store.subscribe_after(rv);
            match replay {
                Some(events) => {
                    for event in events
                        .iter()
                        .filter(|e| e.resource == resource && matches(&e.object))
                    {
                        initial.push(line(event.kind, &shown.present(&event.object)));
                    }
                }
                None => {
                    let status = ApiError::expired(rv, store.oldest_rv()).to_status();
                    initial.push(line("ERROR", &status));
                }
            }
            receiver
        }
    };
    let mut last_rv = store.rv();
    drop(store);
    let (sender, body) = ChannelBody::channel(64);
    let mut receiver = receiver;
    tokio::spawn(async move {
        for chunk in initial {
            if sender.send(chunk).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = sender.closed() => return,
                received = receiver.recv() => match received {
                    Ok(event) => {
                        if event.rv <= last_rv || event.resource != resource || !matches(&event.object) {
                            continue;
                        }
                        last_rv = event.rv;
                        if sender.send(line(event.kind, &shown.present(&event.object))).await.is_err() {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                },
            }
        }
    });
    let mut response = Response::new(body.boxed());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
