//! AddClientIDToOpenIDConnectProvider and RemoveClientIDFromOpenIDConnectProvider, which moto
//! 5.2.1 does not implement, played per the IAM API reference: idempotent, NoSuchEntity for an
//! unknown provider (moto's own answer to GetOpenIDConnectProvider is relayed), ClientID 1 to
//! 255 characters (InvalidInput, as the API's `clientIDType` constraint says), at most 100 IDs
//! per provider (IAM quotas: "Client IDs per OIDC provider: 100").

use std::collections::HashMap;
use std::sync::Mutex;

use hyper::Request;
use hyper::body::Bytes;

use super::{Answer, IAM_NAMESPACE, State, query_error, request_id, xml};

/// The IAM quota on client IDs per OIDC provider.
const MAX_CLIENT_IDS: usize = 100;

/// Adds or removes the client ID, keeping the provider's list here from then on.
pub fn change(
    state: &Mutex<State>,
    request: &Request<Bytes>,
    params: &HashMap<String, String>,
    relay: &dyn Fn(&Request<Bytes>) -> Answer,
) -> Answer {
    let action = params.get("Action").map_or("", String::as_str);
    let arn = params
        .get("OpenIDConnectProviderArn")
        .cloned()
        .unwrap_or_default();
    let client_id = params.get("ClientID").cloned().unwrap_or_default();
    if client_id.is_empty() || client_id.chars().count() > 255 {
        let message = "1 validation error detected: Value at 'clientID' failed to satisfy \
                       constraint: Member must have length between 1 and 255";
        return query_error(IAM_NAMESPACE, 400, "InvalidInput", message);
    }
    // The provider's current list, from moto unless changed here before.
    let current = relay(&get_provider(request, &arn));
    if current.status != 200 {
        return current;
    }
    let mut state = state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let ids = state
        .client_ids
        .entry(arn)
        .or_insert_with(|| listed(&current.body));
    if action == "AddClientIDToOpenIDConnectProvider" {
        if !ids.contains(&client_id) {
            if ids.len() >= MAX_CLIENT_IDS {
                let message = format!(
                    "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
                );
                return query_error(IAM_NAMESPACE, 409, "LimitExceeded", &message);
            }
            ids.push(client_id);
        }
    } else {
        ids.retain(|id| *id != client_id);
    }
    let body = format!(
        "<{action}Response xmlns=\"{IAM_NAMESPACE}\"><ResponseMetadata><RequestId>{}\
         </RequestId></ResponseMetadata></{action}Response>",
        request_id()
    );
    xml(200, body)
}

/// The same request (headers, so moto sees the IAM credential scope) asking for the provider.
fn get_provider(request: &Request<Bytes>, arn: &str) -> Request<Bytes> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "GetOpenIDConnectProvider")
        .append_pair("Version", "2010-05-08")
        .append_pair("OpenIDConnectProviderArn", arn)
        .finish();
    let mut get = Request::new(Bytes::from(body));
    *get.method_mut() = hyper::Method::POST;
    *get.uri_mut() = "/".parse().expect("a path");
    *get.headers_mut() = request.headers().clone();
    get.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    get
}

/// The `<member>`s of a GetOpenIDConnectProvider answer's ClientIDList.
fn listed(body: &[u8]) -> Vec<String> {
    let body = String::from_utf8_lossy(body);
    let Some((_, rest)) = body.split_once("<ClientIDList>") else {
        return Vec::new();
    };
    let list = rest
        .split_once("</ClientIDList>")
        .map_or("", |(list, _)| list);
    list.split("<member>")
        .filter_map(|member| member.split_once("</member>"))
        .map(|(id, _)| unescape(id))
        .collect()
}

/// moto's answer with the ClientIDList replaced by `ids`.
pub fn rewrite(mut answer: Answer, ids: &[String]) -> Answer {
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    let members: String = ids
        .iter()
        .map(|id| format!("<member>{}</member>", super::escape(id)))
        .collect();
    let list = format!("<ClientIDList>{members}</ClientIDList>");
    let replaced = if let Some(start) = body.find("<ClientIDList>") {
        let end = body[start..]
            .find("</ClientIDList>")
            .map_or(body.len(), |end| start + end + "</ClientIDList>".len());
        format!("{}{list}{}", &body[..start], &body[end..])
    } else {
        body.replacen("<ClientIDList/>", &list, 1)
    };
    answer.body = replaced.into_bytes();
    answer
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_read_and_replaced_in_moto_s_answer() {
        let body = "<R><Url>example.com/x</Url><ClientIDList><member>sts.amazonaws.com</member>\
                    </ClientIDList><ThumbprintList/></R>";
        assert_eq!(listed(body.as_bytes()), ["sts.amazonaws.com"]);
        let answer = Answer {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        };
        let ids = ["a&b".to_string(), "sts.amazonaws.com".to_string()];
        let rewritten = rewrite(answer, &ids);
        assert_eq!(
            String::from_utf8(rewritten.body).expect("utf-8"),
            "<R><Url>example.com/x</Url><ClientIDList><member>a&amp;b</member>\
             <member>sts.amazonaws.com</member></ClientIDList><ThumbprintList/></R>"
        );
        assert!(listed(b"<R><ClientIDList/></R>").is_empty());
    }
}
