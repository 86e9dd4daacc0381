// What the browser tests look up in a demo program through the API.

/// The mobile (09…) and id of a recent active customer with at least 20 points to spend
/// and a tier discount: someone to sell to at the counter. Reads at most ten pages.
export async function customerToSell(base, adminKey) {
  const get = async (path) => {
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${adminKey}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  let cursor = '';
  for (let pageNo = 0; pageNo < 10; pageNo++) {
    const page = await get(`/api/v1/customers?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const c of page.items) {
      if (c.status !== 'active' || !c.mobile) continue;
      const balance = await get(`/api/v1/customers/${c.id}/balance`);
      if (balance.points.available < 20) continue;
      const full = await get(`/api/v1/customers/${c.id}`);
      if (full.tier && Number(full.tier.tier.discount_percent) > 0) {
        return { id: c.id, mobile: '0' + c.mobile.replace(/^\+98/, '') };
      }
    }
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  throw new Error('no demo customer with points and a tier discount among the newest 2,000');
}
