import { createCampaign, createTemplate, createTenant, importLeads, openFivetier, startCampaign } from 'fivetier';

const ft = await openFivetier(); // the same tiers as `npm start`: the embedded default without settings
const { id: tenantId } = await createTenant(ft, { name: 'Acme' });
const template = await createTemplate(ft, tenantId, { name: 'welcome', subject: 'Hello {{ name }}', content: '<p>Dear {{ name }} of {{ company }}</p>' });
const leadIds = await importLeads(ft, tenantId, [
  { email: 'ada@example.com', name: 'Ada', company: 'Analytical Engines' },
  { email: 'grace@example.com', name: 'Grace', company: 'Harvard Mark I' },
  { email: 'edsger@example.com', name: 'Edsger', company: 'Mathematisch Centrum' },
]);
const campaign = await createCampaign(ft, tenantId, { name: 'launch', templateId: template.id, leadIds });
await startCampaign(ft, tenantId, campaign.id);
console.log(`campaign ${campaign.id} started for ${leadIds.length} leads`);
await ft.close();
