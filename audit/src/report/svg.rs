//! Inline SVG charts for the HTML report: vertical and horizontal bar charts, and the network
//! of organisations on a circle grouped by country. Every label passes through
//! [`super::html::escape`]; each chart carries its figures as text (`aria-label`) for screen
//! readers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::figures::{Count, Edge, NetworkNode};
use super::html::escape;

/// The bar colour.
const BAR: &str = "#3b6ea8";

/// Colours for countries, in order of appearance.
const PALETTE: [&str; 8] = [
    "#3b6ea8", "#c0504d", "#4f9a5b", "#8064a2", "#d08a2c", "#2b9ea0", "#a05a7a", "#6b6b6b",
];

/// A chart's text for those who cannot see it: each label with its count.
fn alt(items: &[Count]) -> String {
    escape(
        &items
            .iter()
            .map(|c| format!("{}: {}", c.label, c.count))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// Vertical bars, one per count (months, say), labelled below and valued above.
pub fn columns(items: &[Count]) -> String {
    if items.is_empty() {
        return "<p class=\"none\">none</p>".to_owned();
    }
    let max = items.iter().map(|c| c.count).max().unwrap_or(1).max(1);
    let (step, height) = (56u64, 180u64);
    let width = step * items.len() as u64 + 20;
    let mut out = format!(
        "<svg viewBox=\"0 0 {width} {}\" width=\"{width}\" height=\"{}\" role=\"img\" \
         aria-label=\"{}\">",
        height + 50,
        height + 50,
        alt(items)
    );
    for (i, c) in items.iter().enumerate() {
        let bar = c.count * height / max;
        let x = 10 + step * i as u64;
        let y = 20 + height - bar;
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{bar}\" fill=\"{BAR}\" rx=\"3\"/>\
             <text x=\"{}\" y=\"{}\" class=\"v\">{}</text>\
             <text x=\"{}\" y=\"{}\" class=\"l\">{}</text>",
            x + 6,
            step - 12,
            x + step / 2,
            y.saturating_sub(4),
            c.count,
            x + step / 2,
            height + 38,
            escape(&c.label)
        );
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars, one per count (country pairs, organisation types).
pub fn bars(items: &[Count]) -> String {
    if items.is_empty() {
        return "<p class=\"none\">none</p>".to_owned();
    }
    let max = items.iter().map(|c| c.count).max().unwrap_or(1).max(1);
    let (label_width, bar_width, row) = (170u64, 420u64, 26u64);
    let height = row * items.len() as u64 + 10;
    let width = label_width + bar_width + 60;
    let mut out = format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"{}\">",
        alt(items)
    );
    for (i, c) in items.iter().enumerate() {
        let y = 5 + row * i as u64;
        let bar = (c.count * bar_width / max).max(2);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" class=\"r\">{}</text>\
             <rect x=\"{label_width}\" y=\"{}\" width=\"{bar}\" height=\"{}\" fill=\"{BAR}\" rx=\"3\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            label_width - 8,
            y + 17,
            escape(&c.label),
            y + 3,
            row - 8,
            label_width + bar + 6,
            y + 17,
            c.count
        );
    }
    out.push_str("</svg>");
    out
}

/// The network: organisations on a circle, grouped and coloured by country, edges as lines
/// whose width grows with the count, with an arrowhead towards the addressee.
pub fn network(nodes: &[NetworkNode], edges: &[Edge]) -> String {
    if nodes.is_empty() {
        return "<p class=\"none\">none</p>".to_owned();
    }
    let mut ordered: Vec<&NetworkNode> = nodes.iter().collect();
    ordered.sort_by(|a, b| (&a.country, &a.address).cmp(&(&b.country, &b.address)));
    let mut colours = BTreeMap::new();
    for n in &ordered {
        let next = PALETTE[colours.len() % PALETTE.len()];
        colours.entry(n.country.as_str()).or_insert(next);
    }
    // Room either side for organisations' names.
    let (width, height, radius) = (1040.0_f64, 560.0_f64, 230.0_f64);
    let (centre, middle) = (width / 2.0, height / 2.0);
    let position: BTreeMap<&str, (f64, f64)> = ordered
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let angle = std::f64::consts::TAU * i as f64 / ordered.len() as f64
                - std::f64::consts::FRAC_PI_2;
            (
                n.address.as_str(),
                (centre + radius * angle.cos(), middle + radius * angle.sin()),
            )
        })
        .collect();
    let max = edges.iter().map(|e| e.count).max().unwrap_or(1).max(1) as f64;
    let mut out = format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"{}\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" \
         markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"#777\"/></marker></defs>",
        escape(
            &edges
                .iter()
                .map(|e| format!("{} → {}: {}", e.from, e.to, e.count))
                .collect::<Vec<_>>()
                .join("; ")
        )
    );
    for e in edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) =
            (position.get(e.from.as_str()), position.get(e.to.as_str()))
        else {
            continue;
        };
        // Stop short of the node's circle, and bend a little so A→B and B→A stay apart.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / length, dy / length);
        let (sx, sy, ex, ey) = (
            x1 + ux * 16.0,
            y1 + uy * 16.0,
            x2 - ux * 16.0,
            y2 - uy * 16.0,
        );
        let (cx, cy) = ((sx + ex) / 2.0 - uy * 24.0, (sy + ey) / 2.0 + ux * 24.0);
        let width = 1.0 + 5.0 * e.count as f64 / max;
        let _ = write!(
            out,
            "<path d=\"M{sx:.1},{sy:.1} Q{cx:.1},{cy:.1} {ex:.1},{ey:.1}\" stroke=\"#777\" \
             stroke-opacity=\"0.7\" stroke-width=\"{width:.1}\" fill=\"none\" \
             marker-end=\"url(#arrow)\"><title>{} → {}: {}</title></path>\
             <text x=\"{cx:.1}\" y=\"{cy:.1}\" class=\"e\">{}</text>",
            escape(&e.from),
            escape(&e.to),
            e.count,
            e.count
        );
    }
    for n in &ordered {
        let Some(&(x, y)) = position.get(n.address.as_str()) else {
            continue;
        };
        let colour = colours.get(n.country.as_str()).copied().unwrap_or(BAR);
        let anchor = if x < centre - 1.0 {
            "end"
        } else if x > centre + 1.0 {
            "start"
        } else {
            "middle"
        };
        let lx = x + (x - centre) / radius * 22.0;
        let ly = y + (y - middle) / radius * 22.0 + 4.0;
        let _ = write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"14\" fill=\"{colour}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" class=\"c\">{}</text>\
             <text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"{anchor}\">{} <tspan class=\"t\">{}</tspan></text>",
            y + 4.0,
            escape(&n.country),
            escape(&n.name),
            escape(&n.organisation_type.replace('_', " "))
        );
    }
    out.push_str("</svg>");
    out
}
