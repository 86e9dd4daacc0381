// What the browser tests look up in a demo program through the API.

/// The mobile (09…) of a recent active customer with points to spend and a tier discount:
/// someone to sell to at the counter.
export async function customerToSell(base, adminKey) {
  const get = async (path) => {
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${adminKey}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const page = await get('/api/v1/customers?limit=100');
  for (const c of page.items) {
    if (c.status !== 'active' || !c.mobile) continue;
    const balance = await get(`/api/v1/customers/${c.id}/balance`);
    const full = await get(`/api/v1/customers/${c.id}`);
    if (balance.points.available >= 50 && full.tier && Number(full.tier.tier.discount_percent) > 0) {
      return { id: c.id, mobile: '0' + c.mobile.replace(/^\+98/, '') };
    }
  }
  throw new Error('no demo customer with points and a tier discount among the newest 100');
}
