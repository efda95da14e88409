//! `latest.svg`: throughput relative to the baseline per case, and RSS per idle connection.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{CaseInfo, Report};

impl Report {
    /// Draws the chart: throughput relative to the baseline, grouped by case,
    /// and (if the idle case ran) the memory per idle connection.
    pub fn draw_svg(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        // Broadcast cases are drawn with the echo cases: their bars are deliveries/s ratios.
        let load: Vec<&CaseInfo> = self.cases.iter().filter(|c| c.kind != "idle").collect();
        let idle: Option<&CaseInfo> = self.cases.iter().find(|c| c.kind == "idle");
        let width = 1200u32;
        let root = SVGBackend::new(path, (width, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let m = &self.machine;
        let root = root.titled(
            &format!(
                "WebSocket echo load — {} — {} cores — {} — {} repeat(s){}",
                m.cpu_model,
                m.cores,
                m.date_utc,
                self.config["repeats"],
                if self.config["quick"].as_bool() == Some(true) {
                    ", --quick"
                } else {
                    ""
                }
            ),
            ("sans-serif", 18),
        )?;
        let (left, right) = if idle.is_some() {
            root.split_horizontally(width * 7 / 10)
        } else {
            (root.clone(), root.clone())
        };
        let palette = [
            RGBColor(0x1f, 0x77, 0xb4),
            RGBColor(0xff, 0x7f, 0x0e),
            RGBColor(0x2c, 0xa0, 0x2c),
            RGBColor(0xd6, 0x27, 0x28),
            RGBColor(0x94, 0x67, 0xbd),
            RGBColor(0x8c, 0x56, 0x4b),
            RGBColor(0xe3, 0x77, 0xc2),
        ];
        let color = |i: usize| palette[i % palette.len()];
        let nc = self.contenders.len().max(1);

        if !load.is_empty() {
            let ratio = |case: &str, con: &str| {
                self.summary_of(case, con).and_then(|s| s.ratio_to_baseline)
            };
            let ymax = load
                .iter()
                .flat_map(|c| self.contenders.iter().filter_map(|k| ratio(&c.id, &k.name)))
                .fold(1.0f64, f64::max)
                * 1.45; // headroom for the legend above the bars
            // Integer x units: 100 per case, the bars of a case share its middle 80.
            let centers: Vec<i32> = (0..load.len() as i32).map(|i| i * 100 + 50).collect();
            let mut chart = ChartBuilder::on(&left)
                .caption(
                    format!(
                        "Echo throughput relative to {} (= 1.0), median of paired runs",
                        self.baseline
                    ),
                    ("sans-serif", 15),
                )
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(
                    (0i32..load.len() as i32 * 100).with_key_points(centers),
                    0f64..ymax,
                )?;
            let labels: Vec<String> = load.iter().map(|c| c.id.clone()).collect();
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_label_formatter(&|x| {
                    labels.get((*x / 100) as usize).cloned().unwrap_or_default()
                })
                .light_line_style(TRANSPARENT)
                .y_desc(format!("msgs/s ÷ {} (higher is better)", self.baseline))
                .label_style(("sans-serif", 13))
                .draw()?;
            let bw = 80 / nc as i32;
            let value_style = TextStyle::from(("sans-serif", 11).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            for (k, con) in self.contenders.iter().enumerate() {
                let col = color(k);
                let bars: Vec<(i32, f64)> = load
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        Some((
                            i as i32 * 100 + 10 + k as i32 * bw,
                            ratio(&c.id, &con.name)?,
                        ))
                    })
                    .collect();
                chart
                    .draw_series(bars.iter().map(|&(x0, v)| {
                        Rectangle::new([(x0, 0.0), (x0 + bw - 1, v)], col.filled())
                    }))?
                    .label(con.name.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled())
                    });
                chart.draw_series(bars.iter().map(|&(x0, v)| {
                    Text::new(format!("{v:.2}"), (x0 + bw / 2, v), value_style.clone())
                }))?;
            }
            // The baseline level.
            chart.draw_series(LineSeries::new(
                [(0, 1.0), (load.len() as i32 * 100, 1.0)],
                BLACK.mix(0.4).stroke_width(1),
            ))?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 13))
                .draw()?;
        }

        if let Some(idle) = idle {
            let kib: Vec<(usize, f64)> = self
                .contenders
                .iter()
                .enumerate()
                .filter_map(|(k, c)| {
                    Some((
                        k,
                        self.summary_of(&idle.id, &c.name)?.bytes_per_conn? / 1024.0,
                    ))
                })
                .collect();
            // Horizontal bars, so that contender names fit as axis labels.
            let xmax = kib.iter().map(|&(_, v)| v).fold(1.0f64, f64::max) * 1.2;
            let n = self.contenders.len() as i32;
            // The first contender on top.
            let row = |k: usize| (n - 1 - k as i32) * 100;
            let centers: Vec<i32> = (0..n).map(|i| i * 100 + 50).collect();
            let names: Vec<String> = self.contenders.iter().map(|c| c.name.clone()).collect();
            let mut chart = ChartBuilder::on(&right)
                .caption(
                    format!("Server RSS per idle connection ({})", idle.conns),
                    ("sans-serif", 15),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(130)
                .build_cartesian_2d(0f64..xmax, (0i32..n * 100).with_key_points(centers))?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(TRANSPARENT)
                .y_label_formatter(&|y| {
                    let k = (n - 1 - *y / 100) as usize;
                    names.get(k).cloned().unwrap_or_default()
                })
                .x_labels(5)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .x_desc("KiB per connection (lower is better)")
                .label_style(("sans-serif", 12))
                .draw()?;
            chart.draw_series(kib.iter().map(|&(k, v)| {
                Rectangle::new([(0.0, row(k) + 20), (v, row(k) + 80)], color(k).filled())
            }))?;
            let value_style = TextStyle::from(("sans-serif", 11).into_font())
                .pos(Pos::new(HPos::Left, VPos::Center));
            chart.draw_series(kib.iter().map(|&(k, v)| {
                Text::new(format!(" {v:.1}"), (v, row(k) + 50), value_style.clone())
            }))?;
        }
        root.present()?;
        Ok(())
    }
}
