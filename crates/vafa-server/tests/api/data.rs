//! CSV import and streamed export over HTTP: good, bad and duplicate rows, a re-import
//! that changes nothing, rejects naming line and field, permissions, and an export that
//! reads back what was imported.

use crate::helpers::each_app;
use reqwest::Method;
use vafa_core::auth::Role;

const CUSTOMERS: &str =
    "\u{feff}کد مشتری,نام,نام خانوادگی,شماره موبایل,تاریخ تولد,جنسیت,شهر,برچسب,امتیاز,Shoe size
C-1,علی,رضایی,۰۹۱۲۱۲۳۴۵۶۷,1370/05/12,مرد,تهران,vip;coffee,120,42
C-2,Sara,Ahmadi,09351112233,1995-02-03,female,Shiraz,,,38
C-3,Bad,Mobile,0912,1990-01-01,male,,,,40
C-4,Twin,OfTwo,09121234567,,,,,,41
C-5,Nobody,Born,09361110000,1404/13/40,x,,,\"1,0,0\",40
,,,,,,,,,
";

const PURCHASES: &str = "receipt,customer_code,mobile,date,amount,branch,sku,qty,price
R-1,C-1,,1405/08/01 10:30,250000,Vanak,LATTE,2,125000
R-2,,09351112233,2026-10-02T09:00:00Z,90000,Tajrish,,,
R-3,C-9,,2026-10-03,1000,,,,
R-4,C-2,,2099-01-01,1000,,,,
R-1,C-2,,2026-10-04,5000,,,,
R-5,C-1,,2026-10-05,-3,,,,
";

/// An import summary's rejects as (line, field).
fn line_and_field(summary: &serde_json::Value) -> Vec<(u64, &str)> {
    summary["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["line"].as_u64().unwrap(), x["field"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn import_and_export_over_http() {
    each_app(|app| async move {
        let upload = |kind: &'static str, body: &'static str, key: String| {
            let app = &app;
            async move {
                app.raw(
                    Method::POST,
                    &format!("/api/v1/imports/{kind}"),
                    Some(&key),
                    Some(("text/csv", body.as_bytes().to_vec())),
                )
                .await
            }
        };
        let cashier = app.key(&app.program_id, Role::Cashier).await;
        upload("customers", CUSTOMERS, cashier.clone())
            .await
            .problem(403, "forbidden");
        upload("suppliers", CUSTOMERS, app.admin_key.clone())
            .await
            .problem(422, "validation_failed");

        let r = upload("customers", CUSTOMERS, app.admin_key.clone())
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (
                r["rows"].as_u64(),
                r["imported"].as_u64(),
                r["unchanged"].as_u64(),
                r["rejected"].as_u64()
            ),
            (Some(6), Some(2), Some(0), Some(4)),
            "{}: {r}",
            app.backend
        );
        assert_eq!(r["ignored_columns"], serde_json::json!(["Shoe size"]));
        let rejects = line_and_field(&r);
        assert!(rejects.contains(&(4, "mobile")), "{rejects:?}");
        assert!(
            rejects.contains(&(5, "mobile")),
            "the same mobile as line 2: {rejects:?}"
        );
        assert!(
            rejects.contains(&(6, "birth_date"))
                && rejects.contains(&(6, "gender"))
                && rejects.contains(&(6, "points")),
            "{rejects:?}"
        );
        assert!(
            rejects.contains(&(7, "mobile")),
            "an empty row: {rejects:?}"
        );

        // A quote opened and never closed swallows the lines after it: the row says so,
        // naming the lines it took, and nothing of them is imported.
        let r = upload(
            "customers",
            "mobile,first_name,last_name\n09142220001,Ok,One\n09142220002,\"Broken,Two\n09142220003,Three,Last\n09142220004,Four,Last\n",
            app.admin_key.clone(),
        )
        .await
        .ok(200)
        .clone();
        assert_eq!((r["imported"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(1)), "{}: {r}", app.backend);
        let why = r["rejects"][0]["reason"].as_str().unwrap();
        assert_eq!(r["rejects"][0]["line"], 3, "{r}");
        assert!(why.contains("not closed") && why.contains("lines 3 to 5"), "{why}");

        // The opening balance is a real, spendable balance, and the ledger verifies.
        let list = app
            .get("/api/v1/customers?q=09121234567")
            .await
            .ok(200)
            .clone();
        let ali = list["items"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(list["items"][0]["first_name"], "علی");
        assert_eq!(list["items"][0]["birth_date"], "1991-08-03");
        let bal = app
            .get(&format!("/api/v1/customers/{ali}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(bal["points"]["available"], 120, "{bal}");

        // A re-import changes nothing.
        let audit = app.audit_count().await;
        let again = upload("customers", CUSTOMERS, app.admin_key.clone())
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (again["imported"].as_u64(), again["unchanged"].as_u64()),
            (Some(0), Some(2)),
            "{again}"
        );
        assert!(
            again["rejects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["line"] == 5
                    && x["field"] == "mobile"
                    && x["reason"].as_str().unwrap().contains("another customer")),
            "{again}"
        );
        assert_eq!(app.audit_count().await, audit);

        let p = upload("purchases", PURCHASES, app.admin_key.clone())
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (p["imported"].as_u64(), p["rejected"].as_u64()),
            (Some(2), Some(4)),
            "{}: {p}",
            app.backend
        );
        let rejects = line_and_field(&p);
        assert_eq!(
            rejects,
            [
                (4, "customer_external_id"),
                (5, "occurred_at"),
                (6, "external_id"),
                (7, "total")
            ],
            "{p}"
        );
        let again = upload("purchases", PURCHASES, app.admin_key.clone())
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (again["imported"].as_u64(), again["unchanged"].as_u64()),
            (Some(0), Some(2)),
            "{again}"
        );
        assert!(
            again["rejects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["line"] == 6
                    && x["reason"].as_str().unwrap().contains("another customer")),
            "{again}"
        );
        // Imported sales earn nothing: the balance is still the opening one.
        let bal = app
            .get(&format!("/api/v1/customers/{ali}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(bal["points"]["available"], 120);
        let report = app
            .store
            .verify_ledger(Some(&app.program_id))
            .await
            .unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);

        // A missing required column fails the whole file, naming the field.
        let bad = app
            .raw(
                Method::POST,
                "/api/v1/imports/purchases",
                Some(&app.admin_key),
                Some(("text/csv", b"receipt,mobile\nR-9,09121234567\n".to_vec())),
            )
            .await;
        assert_eq!(
            bad.problem(422, "validation_failed")["field"],
            "occurred_at"
        );
        let bad = app
            .raw(
                Method::POST,
                "/api/v1/imports/customers?map=Hat%3Dcity",
                Some(&app.admin_key),
                Some(("text/csv", b"name\nX\n".to_vec())),
            )
            .await;
        assert_eq!(bad.problem(422, "validation_failed")["field"], "map");

        // Export: CSV and JSON lines read back what was imported.
        let analyst = app.key(&app.program_id, Role::Analyst).await;
        let csv = app
            .raw(
                Method::GET,
                "/api/v1/exports/purchases",
                Some(&analyst),
                None,
            )
            .await;
        assert_eq!(csv.status.as_u16(), 200);
        assert!(csv.content_type.starts_with("text/csv"));
        let text = csv.body.as_str().unwrap().to_owned();
        assert!(
            text.starts_with("\u{feff}id,customer_id,external_id"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains(",R-1,Vanak,,IRR,250000,"), "{text}");
        let jl = app
            .raw(
                Method::GET,
                "/api/v1/exports/customers?format=jsonl",
                Some(&analyst),
                None,
            )
            .await;
        assert_eq!(jl.content_type, "application/x-ndjson");
        let lines: Vec<serde_json::Value> = jl
            .body
            .as_str()
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "two from the file, one before the unclosed quote");
        assert!(lines
            .iter()
            .any(|c| c["mobile"] == "+989121234567" && c["external_id"] == "C-1"));
        let ledger = app
            .raw(
                Method::GET,
                "/api/v1/exports/ledger?format=jsonl",
                Some(&analyst),
                None,
            )
            .await;
        let amounts: i64 = ledger
            .body
            .as_str()
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["amount"]
                    .as_i64()
                    .unwrap()
            })
            .sum();
        assert_eq!(amounts, 0, "the ledger sums to zero");
        app.raw(
            Method::GET,
            "/api/v1/exports/ledger?format=xml",
            Some(&analyst),
            None,
        )
        .await
        .problem(422, "validation_failed");
        app.raw(Method::GET, "/api/v1/exports/ledger", Some(&cashier), None)
            .await
            .problem(403, "forbidden");
    })
    .await;
}

/// A purchase file names customers as the API would take them: a merged record's sale is
/// its survivor's, an erased record takes none, and a row naming its customer two ways
/// is refused rather than given to one of them.
#[tokio::test]
async fn imported_purchases_go_where_the_api_would_put_them() {
    each_app(|app| async move {
        let id = |c: serde_json::Value| c["id"].as_str().unwrap().to_owned();
        let keep = id(app
            .create_customer(crate::helpers::customer("Keep", "09121110001"))
            .await);
        let dup = id(app
            .create_customer(crate::helpers::customer("Dup", "09121110002"))
            .await);
        let gone = id(app
            .create_customer(crate::helpers::customer("Gone", "09121110003"))
            .await);
        app.post(
            &format!("/api/v1/customers/{keep}/merge"),
            serde_json::json!({"duplicate_id": dup}),
        )
        .await
        .ok(200);
        app.delete(&format!("/api/v1/customers/{gone}"))
            .await
            .ok(200);
        let csv = format!(
            "external_id,customer_id,mobile,occurred_at,total\n\
             M-1,{dup},,2026-06-01,100000\n\
             E-1,{gone},,2026-06-01,100000\n\
             B-1,{keep},09121110001,2026-06-01,100000\n"
        );
        let r = app
            .raw(
                Method::POST,
                "/api/v1/imports/purchases",
                Some(&app.admin_key),
                Some(("text/csv", csv.into_bytes())),
            )
            .await
            .ok(200)
            .clone();
        let rejects = line_and_field(&r);
        assert_eq!(
            rejects,
            [(3, "customer_id"), (4, "customer")],
            "{}: {r}",
            app.backend
        );
        assert_eq!(r["imported"], 1, "{r}");
        let survivor = app
            .get(&format!("/api/v1/customers/{keep}/purchases"))
            .await
            .ok(200)
            .clone();
        let receipts: Vec<&str> = survivor["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["external_id"].as_str().unwrap())
            .collect();
        assert_eq!(receipts, ["M-1"], "{survivor}");
    })
    .await;
}

/// Text a spreadsheet would run as a formula leaves in a CSV export behind a `'`, and an
/// import takes the `'` off again.
#[tokio::test]
async fn csv_exports_do_not_carry_formulas() {
    each_app(|app| async move {
        let mut c = crate::helpers::customer("=HYPERLINK(\"http://evil.example\")", "09121110009");
        c["city"] = serde_json::json!("@SUM(1)");
        app.create_customer(c).await;
        let csv = app
            .raw(
                Method::GET,
                "/api/v1/exports/customers",
                Some(&app.admin_key),
                None,
            )
            .await;
        let text = csv.body.as_str().unwrap().to_owned();
        assert!(
            text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""),
            "{}: {text}",
            app.backend
        );
        assert!(
            text.contains(",'@SUM(1),") && text.contains("+989121110009"),
            "{text}"
        );
        let r = app
            .raw(
                Method::POST,
                "/api/v1/imports/customers",
                Some(&app.admin_key),
                Some((
                    "text/csv",
                    "mobile,first_name\n09121110010,'=Ali\n".as_bytes().to_vec(),
                )),
            )
            .await
            .ok(200)
            .clone();
        assert_eq!(r["imported"], 1, "{r}");
        let found = app
            .get("/api/v1/customers?q=09121110010")
            .await
            .ok(200)
            .clone();
        assert_eq!(found["items"][0]["first_name"], "=Ali");
    })
    .await;
}

/// A merged duplicate's external id and mobile keep finding the survivor: importing the
/// file it came from again registers no one, and its receipts go to the survivor.
#[tokio::test]
async fn an_import_after_a_merge_finds_the_survivor() {
    each_app(|app| async move {
        let upload = |kind: &str, body: String| {
            let app = &app;
            let path = format!("/api/v1/imports/{kind}");
            async move {
                app.raw(
                    Method::POST,
                    &path,
                    Some(&app.admin_key),
                    Some(("text/csv", body.into_bytes())),
                )
                .await
                .ok(200)
                .clone()
            }
        };
        let file = "external_id,mobile,first_name\nSX-1,09181110011,Keep\nMX-1,09181110012,Dup\n"
            .to_owned();
        let r = upload("customers", file.clone()).await;
        assert_eq!(r["imported"], 2, "{r}");
        let find = |q: &str| {
            let app = &app;
            let q = q.to_owned();
            async move {
                app.get(&format!("/api/v1/customers?q={q}")).await.ok(200)["items"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let (keep, dup) = (find("09181110011").await, find("09181110012").await);
        app.post(
            &format!("/api/v1/customers/{keep}/merge"),
            serde_json::json!({"duplicate_id": dup}),
        )
        .await
        .ok(200);
        // The survivor kept its own mobile and external id; the duplicate's are aliases now.
        let again = upload("customers", file).await;
        assert_eq!(
            (again["imported"].as_u64(), again["unchanged"].as_u64()),
            (Some(0), Some(2)),
            "{}: {again}",
            app.backend
        );
        let p = upload(
            "purchases",
            "external_id,customer_external_id,occurred_at,total\nR-77,MX-1,2026-06-01,100000\n"
                .to_owned(),
        )
        .await;
        assert_eq!(p["imported"], 1, "{p}");
        let list = app
            .get(&format!("/api/v1/customers/{keep}/purchases"))
            .await
            .ok(200)
            .clone();
        assert_eq!(list["items"][0]["external_id"], "R-77", "{list}");
        // Erasing the duplicate (or the survivor) forgets them: they are personal data.
        app.delete(&format!("/api/v1/customers/{dup}"))
            .await
            .ok(200);
        let fresh = upload(
            "customers",
            "external_id,mobile\nMX-1,09181110012\n".to_owned(),
        )
        .await;
        assert_eq!(fresh["imported"], 1, "{fresh}");
    })
    .await;
}

/// A key an earlier row had is a duplicate wherever the batch boundary falls: a repeat more
/// than one batch (5,000 rows) away had been counted "already there" — a different sale
/// silently dropped. And an upload labelled as JSON is refused, not read as one column.
#[tokio::test]
async fn a_repeat_a_batch_away_is_still_a_duplicate() {
    each_app(|app| async move {
        let n = vafa_server::import::BATCH + 2;
        let mut csv = String::from("external_id,first_name\nQ-1,First\n");
        for i in 0..n {
            csv.push_str(&format!("F-{i},Filler\n"));
        }
        csv.push_str("Q-1,Second\n");
        let r = app
            .raw(
                Method::POST,
                "/api/v1/imports/customers",
                Some(&app.admin_key),
                Some(("text/csv", csv.into_bytes())),
            )
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (
                r["imported"].as_u64(),
                r["unchanged"].as_u64(),
                r["rejected"].as_u64()
            ),
            (Some(n as u64 + 1), Some(0), Some(1)),
            "{}: {r}",
            app.backend
        );
        let last_line = n as u64 + 3;
        assert_eq!(line_and_field(&r), [(last_line, "external_id")]);
        assert_eq!(r["rejects"][0]["reason"], "the same as line 2");
        let json = app
            .raw(
                Method::POST,
                "/api/v1/imports/customers",
                Some(&app.admin_key),
                Some(("application/json", b"{\"a\": 1}".to_vec())),
            )
            .await;
        json.problem(415, "unsupported_media_type");
    })
    .await;
}
