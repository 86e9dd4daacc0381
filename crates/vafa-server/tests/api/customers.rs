//! Customers and cards over HTTP.

use crate::helpers::{customer, each_app};
use serde_json::json;

#[tokio::test]
async fn every_iranian_mobile_form_becomes_e164() {
    each_app(|app| async move {
        let forms = [
            "09121234567",
            "9121234567",
            "+989121234567",
            "00989121234567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "٠٩١٢١٢٣٤٥٦٧",
        ];
        let first = app
            .create_customer(
                json!({"first_name": "علی", "last_name": "رضایی", "mobile": "۰۹۱۲۱۲۳۴۵۶۷"}),
            )
            .await;
        assert_eq!(first["mobile"], "+989121234567", "{}", app.backend);
        assert!(first["id"].as_str().unwrap().starts_with("cus_"));
        for form in forms {
            // Each form is the same number: a second registration is a duplicate …
            let dup = app.post("/api/v1/customers", customer("x", form)).await;
            let body = dup.problem(409, "duplicate_mobile");
            assert_eq!(body["field"], "mobile");
            // … and a search in that form finds the one customer.
            let found = app
                .get(&format!("/api/v1/customers?mobile={}", urlencode(form)))
                .await;
            assert_eq!(found.ok(200)["items"][0]["id"], first["id"], "{form}");
        }
    })
    .await;
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn national_id_and_jalali_dates_are_checked() {
    each_app(|app| async move {
        let before = app.audit_count().await;
        let bad = app.post("/api/v1/customers", json!({"first_name": "Ali", "national_id": "0499370898"})).await;
        assert_eq!(bad.problem(422, "validation_failed")["field"], "national_id");
        assert_eq!(app.audit_count().await, before, "nothing written");

        let c = app
            .create_customer(json!({"first_name": "Ali", "national_id": "0076229645", "birth_date": "1403/01/01"}))
            .await;
        assert_eq!(c["national_id"], "0076229645");
        assert_eq!(c["birth_date"], "2024-03-20");
        assert_eq!(c["birth_date_jalali"], "1403/01/01");

        let persian = app.create_customer(json!({"first_name": "Sara", "birth_date": "۱۳۷۰/۰۵/۱۲"})).await;
        assert_eq!(persian["birth_date"], "1991-08-03");

        let many = app
            .post(
                "/api/v1/customers",
                json!({"first_name": "X", "mobile": "0212345678", "birth_date": "1402/12/30", "email": "nope", "gender": "robot"}),
            )
            .await;
        let fields: Vec<_> = many.problem(422, "validation_failed")["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(fields, ["mobile", "email", "birth_date", "gender"], "all bad fields at once");

        let nobody = app.post("/api/v1/customers", json!({"city": "Qom"})).await;
        assert_eq!(nobody.problem(422, "validation_failed")["field"], "mobile");
    })
    .await;
}

#[tokio::test]
async fn search_update_erase_merge() {
    each_app(|app| async move {
        let ali = app
            .create_customer(json!({
                "first_name": "علي", "last_name": "كريمی", "mobile": "09121112233", "tags": ["VIP"],
                "external_id": "POS-9", "consent": {"sms": {"granted": true, "source": "pos"}},
                "attributes": {"drink": "latte"}
            }))
            .await;
        assert_eq!(ali["first_name"], "علی", "Arabic ي stored as Persian ی");
        assert_eq!(ali["consent"]["sms"]["granted"], true);
        let id = ali["id"].as_str().unwrap();

        for q in ["علی", "کریمی", "2233", "POS-9", "+989121112233"] {
            let page = app
                .get(&format!(
                    "/api/v1/customers?q={}",
                    crate::customers::urlencode(q)
                ))
                .await;
            assert_eq!(page.ok(200)["items"].as_array().unwrap().len(), 1, "q={q}");
        }
        let by_tag = app.get("/api/v1/customers?tag=vip").await;
        assert_eq!(by_tag.ok(200)["items"][0]["id"], id);

        app.clock.advance(jiff::SignedDuration::from_hours(1));
        let updated = app
            .patch(
                &format!("/api/v1/customers/{id}"),
                json!({"city": "Shiraz", "attributes": null, "honorific": "mr"}),
            )
            .await;
        let body = updated.ok(200);
        assert_eq!(
            body["updated_at"], "2026-11-23T09:00:00Z",
            "stamped by the server's clock"
        );
        assert_eq!(body["created_at"], "2026-11-23T08:00:00Z");
        assert_eq!(body["city"], "Shiraz");
        assert_eq!(body["honorific"], "mr");
        assert_eq!(body["attributes"], json!({}));
        assert_eq!(body["mobile"], "+989121112233", "untouched fields stay");
        // Taking away everything the customer is known by is refused, and nothing changes.
        let nameless = app
            .patch(
                &format!("/api/v1/customers/{id}"),
                json!({"mobile": null, "first_name": null, "last_name": null, "email": null, "external_id": null}),
            )
            .await;
        assert_eq!(nameless.problem(422, "validation_failed")["field"], "mobile", "{}", app.backend);
        let kept = app.get(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(kept.ok(200)["mobile"], "+989121112233");

        // Cards: a personal card, then a bearer card bound later.
        let personal = app.post("/api/v1/cards", json!({"customer_id": id})).await;
        let number = personal.ok(201)["cards"][0]["number"]
            .as_str()
            .unwrap()
            .to_owned();
        let card = app.get(&format!("/api/v1/cards/{number}")).await;
        assert_eq!(card.ok(200)["customer_id"], id);
        assert_eq!(card.body["history"][0]["event"], "issued");
        let by_card = app.get(&format!("/api/v1/customers?card={number}")).await;
        assert_eq!(by_card.ok(200)["items"][0]["id"], id);

        let dup = app
            .create_customer(
                json!({"first_name": "Ali", "mobile": "09359998877", "city": "Tehran"}),
            )
            .await;
        let dup_id = dup["id"].as_str().unwrap();
        let bearer = app.post("/api/v1/cards", json!({"count": 2})).await;
        let bearer_no = bearer.ok(201)["cards"][0]["number"]
            .as_str()
            .unwrap()
            .to_owned();
        let bound = app
            .post(
                &format!("/api/v1/cards/{bearer_no}/bind"),
                json!({"customer_id": dup_id}),
            )
            .await;
        assert_eq!(bound.ok(200)["customer_id"], dup_id);
        // The duplicate earned 10 points: they come along.
        let bought = app
            .post(
                "/api/v1/purchases",
                json!({"customer_id": dup_id, "total": {"amount": "100000", "currency": "IRR"}}),
            )
            .await;
        assert_eq!(bought.ok(201)["points"]["earned"], 10);

        let merged = app
            .post(
                &format!("/api/v1/customers/{id}/merge"),
                json!({"duplicate_id": dup_id}),
            )
            .await;
        let body = merged.ok(200);
        assert_eq!(body["moved_cards"], json!([bearer_no]));
        assert_eq!(
            (
                &body["moved"]["points"],
                &body["moved"]["purchases"],
                &body["moved"]["debt"]
            ),
            (&json!(10), &json!(1), &json!(0)),
            "{body}"
        );
        assert_eq!(
            body["customer"]["city"], "Shiraz",
            "the survivor's own value wins"
        );
        let cards = app.get(&format!("/api/v1/customers/{id}/cards")).await;
        assert_eq!(cards.ok(200)["cards"].as_array().unwrap().len(), 2);
        let balance = app.get(&format!("/api/v1/customers/{id}/balance")).await;
        assert_eq!(
            balance.ok(200)["points"]["available"],
            10,
            "{}",
            balance.body
        );
        // One person's history: the duplicate's earnings are the survivor's, not a transfer.
        assert_eq!(
            (
                &balance.body["lifetime"]["earned"],
                &balance.body["lifetime"]["transferred"]
            ),
            (&json!(10), &json!(0))
        );
        let ledger = app.get(&format!("/api/v1/customers/{id}/ledger")).await;
        assert_eq!(ledger.ok(200)["items"][0]["type"], "merge");
        let old = app.get(&format!("/api/v1/customers/{dup_id}")).await;
        assert_eq!(old.ok(200)["status"], "merged");
        assert_eq!(old.body["merged_into"], id);
        // The duplicate's mobile, which the survivor did not take, still finds the person:
        // by search, at the counter; and registering it again is the duplicate it was.
        let found = app.get("/api/v1/customers?mobile=09359998877").await.ok(200).clone();
        assert_eq!(found["items"][0]["id"], id, "{}: {found}", app.backend);
        let by_mobile = app
            .post(
                "/api/v1/checkout/quote",
                json!({"mobile": "۰۹۳۵۹۹۹۸۸۷۷", "total": {"amount": "10000", "currency": "IRR"}}),
            )
            .await
            .ok(200)
            .clone();
        assert_eq!(by_mobile["customer_id"], id, "{by_mobile}");
        app.post("/api/v1/customers", json!({"first_name": "Ali", "mobile": "09359998877"}))
            .await
            .problem(409, "duplicate_mobile");
        // A quote for the merged record is refused as its purchase would be, not answered
        // with none of the points that are now the survivor's.
        let quote = app
            .post(
                "/api/v1/checkout/quote",
                json!({"customer_id": dup_id, "total": {"amount": "10000", "currency": "IRR"}}),
            )
            .await;
        quote.problem(409, "customer_closed");

        let erased = app.delete(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(erased.ok(200)["status"], "erased");
        assert_eq!(erased.body["first_name"], json!(null));
        // The record merged into it was the same person: its data goes too; it stays
        // merged, pointing where it went.
        let old = app
            .get(&format!("/api/v1/customers/{dup_id}"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (&old["status"], &old["merged_into"], &old["first_name"], &old["city"]),
            (&json!("merged"), &json!(id), &json!(null), &json!(null)),
            "{}: {old}",
            app.backend
        );
        // Its 10 points are nobody's now: forfeited in one entry, out of the liability.
        let after = app
            .get(&format!("/api/v1/customers/{id}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            (&after["points"]["available"], &after["lifetime"]["expired"]),
            (&json!(0), &json!(10)),
            "{}: {after}",
            app.backend
        );
        let ledger = app.get(&format!("/api/v1/customers/{id}/ledger")).await;
        assert_eq!(ledger.ok(200)["items"][0]["type"], "forfeit");
        let report = app.store.verify_ledger(Some(&app.program_id)).await.unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let gone = app.get("/api/v1/customers?mobile=09121112233").await;
        assert!(gone.ok(200)["items"].as_array().unwrap().is_empty());
        let audit = app.get("/api/v1/audit?limit=3").await;
        let actions: Vec<_> = audit.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].clone())
            .collect();
        assert_eq!(
            actions,
            [
                json!("customer.erased"),
                json!("customer.merged"),
                json!("card.bound")
            ]
        );
        assert!(audit.body["next_cursor"].is_string());
        // Nor do customer-care records start for an erased or merged record.
        for who in [id, dup_id] {
            app.post(
                "/api/v1/tickets",
                json!({"customer_id": who, "subject": "late"}),
            )
            .await
            .problem(409, "customer_closed");
            app.post("/api/v1/orders", json!({"customer_id": who}))
                .await
                .problem(409, "customer_closed");
        }
        let tickets = app.get("/api/v1/tickets").await.ok(200).clone();
        assert_eq!(tickets["items"], json!([]), "{}: {tickets}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn cards_block_and_replace_over_http() {
    each_app(|app| async move {
        let issued = app.post("/api/v1/cards", json!({"count": 1})).await;
        let number = issued.ok(201)["cards"][0]["number"]
            .as_str()
            .unwrap()
            .to_owned();
        let blocked = app
            .post(
                &format!("/api/v1/cards/{number}/block"),
                json!({"reason": "lost"}),
            )
            .await;
        assert_eq!(blocked.ok(200)["status"], "blocked");
        app.post(
            &format!("/api/v1/cards/{number}/block"),
            json!({"reason": "again"}),
        )
        .await
        .problem(409, "card_not_active");
        let replaced = app
            .post(
                &format!("/api/v1/cards/{number}/replace"),
                json!({"reason": "lost"}),
            )
            .await;
        let new_number = replaced.ok(201)["new"]["number"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(replaced.body["old"]["replaced_by"], new_number.as_str());
        // A typo in a card number is caught by its check digit.
        let mut typo = number.clone().into_bytes();
        typo[3] = if typo[3] == b'9' { b'0' } else { typo[3] + 1 };
        let typo = String::from_utf8(typo).unwrap();
        app.get(&format!("/api/v1/cards/{typo}"))
            .await
            .problem(422, "validation_failed");
        app.post("/api/v1/cards", json!({"count": 0}))
            .await
            .problem(422, "validation_failed");
        app.post("/api/v1/cards", json!({"count": 10001}))
            .await
            .problem(422, "validation_failed");
    })
    .await;
}

/// A blocked record's points are frozen: merging it into an active one would free them,
/// so it is refused, and nothing moves (a blocked survivor may take it).
#[tokio::test]
async fn a_blocked_duplicate_does_not_merge_into_an_active_record() {
    each_app(|app| async move {
        let keep = app
            .create_customer(json!({"first_name": "Keep", "mobile": "09351230001"}))
            .await;
        let dup = app
            .create_customer(json!({"first_name": "Frozen", "mobile": "09351230002"}))
            .await;
        let (keep, dup) = (
            keep["id"].as_str().unwrap().to_owned(),
            dup["id"].as_str().unwrap().to_owned(),
        );
        app.post(
            "/api/v1/purchases",
            json!({"customer_id": dup, "total": {"amount": "400000", "currency": "IRR"}}),
        )
        .await
        .ok(201);
        app.patch(
            &format!("/api/v1/customers/{dup}"),
            json!({"status": "blocked"}),
        )
        .await
        .ok(200);
        let merge = app
            .post(
                &format!("/api/v1/customers/{keep}/merge"),
                json!({"duplicate_id": dup}),
            )
            .await;
        merge.problem(409, "invalid_state");
        let still = app
            .get(&format!("/api/v1/customers/{dup}"))
            .await
            .ok(200)
            .clone();
        assert_eq!(still["status"], "blocked", "{}: {still}", app.backend);
        let kept = app
            .get(&format!("/api/v1/customers/{keep}/balance"))
            .await
            .ok(200)
            .clone();
        assert_eq!(kept["points"]["available"], 0);
        // Into a blocked survivor, the points stay frozen: allowed.
        app.patch(
            &format!("/api/v1/customers/{keep}"),
            json!({"status": "blocked"}),
        )
        .await
        .ok(200);
        app.post(
            &format!("/api/v1/customers/{keep}/merge"),
            json!({"duplicate_id": dup}),
        )
        .await
        .ok(200);
    })
    .await;
}
