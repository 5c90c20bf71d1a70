//! awsQuery responses: XML written with `quick-xml`
//! (<https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#response-serialization>).
//!
//! ```xml
//! <PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
//!   <PublishResult><MessageId>…</MessageId></PublishResult>
//!   <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//! </PublishResponse>
//! ```
//!
//! Members are elements named by `locationName` or member name, in the
//! model's `xmlOrder`; lists wrap items in `<member>` (repeated bare when
//! flattened); maps are `<entry><key/><value/></entry>`; timestamps ISO 8601
//! with milliseconds; doubles always carry a fraction (`41.0`). Text is
//! escaped, `\r` kept as a character reference, and characters XML 1.0
//! cannot carry at all become U+FFFD so the document always parses.

use std::borrow::Cow;
use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

use super::errors::ResolvedError;
use crate::canonical;
use crate::model::{Operation, ServiceModel, Shape, ShapeRef, ShapeType};

/// Writes the `<OperationResponse>` document for a canonical output.
pub(super) fn encode_output(
    model: &ServiceModel,
    operation: &Operation,
    output: &Value,
    request_id: &str,
) -> io::Result<Vec<u8>> {
    let mut writer = Writer::new(Vec::new());
    let root = format!("{}Response", operation.name);
    let mut start = BytesStart::new(root.as_str());
    if let Some(namespace) = model.xml_namespace() {
        start.push_attribute(("xmlns", namespace));
    }
    writer.write_event(Event::Start(start))?;
    if let Some(output_ref) = &operation.output
        && let Some(shape) = model.shape(&output_ref.shape)
    {
        let wrapper = output_ref
            .result_wrapper
            .clone()
            .unwrap_or_else(|| format!("{}Result", operation.name));
        let encoder = Encoder { model };
        writer.write_event(Event::Start(BytesStart::new(wrapper.as_str())))?;
        encoder.members(&mut writer, shape, output, &output_ref.shape)?;
        writer.write_event(Event::End(BytesEnd::new(wrapper.as_str())))?;
    }
    writer.write_event(Event::Start(BytesStart::new("ResponseMetadata")))?;
    text_element(&mut writer, "RequestId", request_id)?;
    writer.write_event(Event::End(BytesEnd::new("ResponseMetadata")))?;
    writer.write_event(Event::End(BytesEnd::new(root.as_str())))?;
    Ok(writer.into_inner())
}

/// Writes `<ErrorResponse>` for an error.
pub(super) fn encode_error(
    model: Option<&ServiceModel>,
    error: &ResolvedError<'_>,
    request_id: &str,
) -> Vec<u8> {
    let write = || -> io::Result<Vec<u8>> {
        let mut writer = Writer::new(Vec::new());
        let mut start = BytesStart::new("ErrorResponse");
        if let Some(namespace) = model.and_then(ServiceModel::xml_namespace) {
            start.push_attribute(("xmlns", namespace));
        }
        writer.write_event(Event::Start(start))?;
        writer.write_event(Event::Start(BytesStart::new("Error")))?;
        text_element(
            &mut writer,
            "Type",
            if error.sender_fault {
                "Sender"
            } else {
                "Receiver"
            },
        )?;
        text_element(&mut writer, "Code", error.query_code)?;
        if !error.message.is_empty() {
            text_element(&mut writer, "Message", error.message)?;
        }
        if let (Some(model), Some((shape_name, members))) = (model, error.members)
            && let Some(shape) = model.shape(shape_name)
            && let Value::Object(object) = members
        {
            // `message` is written above, as <Message>.
            let rest: serde_json::Map<String, Value> =
                object.iter().filter(|(name, _)| *name != "message").map(|(k, v)| (k.clone(), v.clone())).collect();
            Encoder { model }.members(&mut writer, shape, &Value::Object(rest), shape_name)?;
        }
        writer.write_event(Event::End(BytesEnd::new("Error")))?;
        text_element(&mut writer, "RequestId", request_id)?;
        writer.write_event(Event::End(BytesEnd::new("ErrorResponse")))?;
        Ok(writer.into_inner())
    };
    // Writing into a Vec cannot fail; an empty body is the impossible fallback.
    write().unwrap_or_default()
}

struct Encoder<'a> {
    model: &'a ServiceModel,
}

impl Encoder<'_> {
    /// Writes the members of a structure value.
    fn members(
        &self,
        writer: &mut Writer<Vec<u8>>,
        shape: &Shape,
        value: &Value,
        shape_name: &str,
    ) -> io::Result<()> {
        let Value::Object(object) = value else {
            return Ok(());
        };
        for (name, member) in shape.xml_members() {
            let Some(member_value) = object.get(name).filter(|v| !v.is_null()) else {
                continue;
            };
            let element = member.location_name.as_deref().unwrap_or(name);
            self.value(writer, member, element, member_value)?;
        }
        for name in object.keys() {
            if !shape.members.contains_key(name) {
                tracing::debug!(shape = %shape_name, member = %name, "output member not in the model; dropped");
            }
        }
        Ok(())
    }

    /// Writes `value` as the element `element`.
    fn value(
        &self,
        writer: &mut Writer<Vec<u8>>,
        shape_ref: &ShapeRef,
        element: &str,
        value: &Value,
    ) -> io::Result<()> {
        let Some(shape) = self.model.shape(&shape_ref.shape) else {
            return text_element(writer, element, &scalar_text(None, None, value));
        };
        match (shape.kind, value) {
            (ShapeType::Structure, Value::Object(_)) => {
                writer.write_event(Event::Start(BytesStart::new(element)))?;
                self.members(writer, shape, value, &shape_ref.shape)?;
                writer.write_event(Event::End(BytesEnd::new(element)))
            }
            (ShapeType::List, Value::Array(items)) => {
                let Some(member) = &shape.member else {
                    return Ok(());
                };
                if shape.flattened || shape_ref.flattened {
                    let item_element = member.location_name.as_deref().unwrap_or(element);
                    for item in items.iter().filter(|item| !item.is_null()) {
                        self.value(writer, member, item_element, item)?;
                    }
                    return Ok(());
                }
                if items.is_empty() {
                    return writer.write_event(Event::Empty(BytesStart::new(element)));
                }
                let item_element = member.location_name.as_deref().unwrap_or("member");
                writer.write_event(Event::Start(BytesStart::new(element)))?;
                for item in items.iter().filter(|item| !item.is_null()) {
                    self.value(writer, member, item_element, item)?;
                }
                writer.write_event(Event::End(BytesEnd::new(element)))
            }
            (ShapeType::Map, Value::Object(entries)) => {
                let (Some(key_ref), Some(value_ref)) = (&shape.key, &shape.value) else {
                    return Ok(());
                };
                let key_element = key_ref.location_name.as_deref().unwrap_or("key");
                let value_element = value_ref.location_name.as_deref().unwrap_or("value");
                let flattened = shape.flattened || shape_ref.flattened;
                if !flattened {
                    writer.write_event(Event::Start(BytesStart::new(element)))?;
                }
                for (key, entry) in entries.iter().filter(|(_, entry)| !entry.is_null()) {
                    let entry_element = if flattened { element } else { "entry" };
                    writer.write_event(Event::Start(BytesStart::new(entry_element)))?;
                    text_element(writer, key_element, key)?;
                    self.value(writer, value_ref, value_element, entry)?;
                    writer.write_event(Event::End(BytesEnd::new(entry_element)))?;
                }
                if !flattened {
                    writer.write_event(Event::End(BytesEnd::new(element)))?;
                }
                Ok(())
            }
            (kind, _) => {
                let format = shape_ref
                    .timestamp_format
                    .as_deref()
                    .or(shape.timestamp_format.as_deref());
                text_element(writer, element, &scalar_text(Some(kind), format, value))
            }
        }
    }
}

/// The text of a scalar element.
fn scalar_text(kind: Option<ShapeType>, timestamp_format: Option<&str>, value: &Value) -> String {
    match (kind, value) {
        (Some(ShapeType::Timestamp), _) => {
            let Some(seconds) = canonical::value_seconds(value) else {
                return String::new();
            };
            match timestamp_format {
                Some("unixTimestamp") => canonical::seconds_value(seconds)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                _ => canonical::format_iso8601(seconds).unwrap_or_default(),
            }
        }
        (Some(ShapeType::Float | ShapeType::Double), _) => canonical::value_f64(value)
            .map(canonical::format_double)
            .unwrap_or_default(),
        (_, Value::String(text)) => text.clone(),
        (_, Value::Null) => String::new(),
        (_, other) => other.to_string(),
    }
}

/// Writes `<name>text</name>`.
fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(BytesText::from_escaped(escape(text))))?;
    writer.write_event(Event::End(BytesEnd::new(name)))
}

/// Escapes text content: the XML specials, `\r` (which a parser would
/// otherwise normalize away) and characters XML 1.0 forbids.
fn escape(text: &str) -> Cow<'_, str> {
    let needs_work = text
        .chars()
        .any(|c| matches!(c, '&' | '<' | '>' | '"' | '\'' | '\r') || !is_xml_char(c));
    if !needs_work {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    Cow::Owned(out)
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_documents_parseable() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("line\r\n"), "line&#xD;\n");
        assert_eq!(escape("bell\u{7}"), "bell\u{FFFD}");
    }
}
