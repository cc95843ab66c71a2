package server

import "github.com/assentdev/assent"

// routes registers every route of the service: the whole surface, top to
// bottom. The OpenAPI document describes exactly the /api/v1 routes here.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("/api/v1/", s.apiNotFound)

	s.api("GET /api/v1/openapi.json", 0, s.apiOpenAPI)

	s.api("GET /api/v1/account", assent.ReadContent, s.apiAccountGet)
	s.api("PATCH /api/v1/account", assent.ManageAccount, s.apiAccountUpdate)
	s.api("GET /api/v1/users", assent.ManageAccount, s.apiUserList)
	s.api("POST /api/v1/users", assent.ManageAccount, s.apiUserCreate)
	s.api("GET /api/v1/apikeys", assent.ManageAccount, s.apiAPIKeyList)
	s.api("POST /api/v1/apikeys", assent.ManageAccount, s.apiAPIKeyCreate)
	s.api("DELETE /api/v1/apikeys/{id}", assent.ManageAccount, s.apiAPIKeyDelete)

	s.api("GET /api/v1/categories", assent.ReadContent, s.apiCategoryList)
	s.api("GET /api/v1/subcategories", assent.ReadContent, s.apiSubcategoryList)
	s.api("POST /api/v1/subcategories", assent.ManageSubcategories, s.apiSubcategoryCreate)
	s.api("GET /api/v1/subcategories/{id}", assent.ReadContent, s.apiSubcategoryGet)
	s.api("PATCH /api/v1/subcategories/{id}", assent.ManageSubcategories, s.apiSubcategoryUpdate)
	s.api("DELETE /api/v1/subcategories/{id}", assent.ManageSubcategories, s.apiSubcategoryDelete)

	s.api("GET /api/v1/optins", assent.ReadContent, s.apiOptinList)
	s.api("POST /api/v1/optins", assent.ManageOptins, s.apiOptinCreate)
	s.api("GET /api/v1/optins/{id}", assent.ReadContent, s.apiOptinGet)
	s.api("PATCH /api/v1/optins/{id}", assent.ManageOptins, s.apiOptinUpdate)
	s.api("DELETE /api/v1/optins/{id}", assent.ManageOptins, s.apiOptinDelete)
	s.api("GET /api/v1/optins/{id}/versions", assent.ReadContent, s.apiOptinVersions)

	s.api("GET /api/v1/campaigns", assent.ReadContent, s.apiCampaignList)
	s.api("POST /api/v1/campaigns", assent.ManageCampaigns, s.apiCampaignCreate)
	s.api("GET /api/v1/campaigns/{id}", assent.ReadContent, s.apiCampaignGet)
	s.api("PATCH /api/v1/campaigns/{id}", assent.ManageCampaigns, s.apiCampaignUpdate)
	s.api("POST /api/v1/campaigns/{id}/participations", assent.SubmitParticipations, s.apiParticipationCreate)
	s.api("GET /api/v1/campaigns/{id}/participations", assent.ReadStats, s.apiCampaignParticipations)
	s.api("GET /api/v1/campaigns/{id}/stats", assent.ReadStats, s.apiCampaignStats)
	s.api("GET /api/v1/optins/{id}/audience", assent.ReadStats, s.apiOptinAudience)
	s.api("GET /api/v1/stats/optins", assent.ReadStats, s.apiOptinStats)
	s.api("GET /api/v1/stats/global", assent.ReadGlobalStats, s.apiGlobalStats)

	s.api("GET /api/v1/participants", assent.ManageParticipants, s.apiParticipantFind)
	s.api("GET /api/v1/participants/{id}", assent.ManageParticipants, s.apiParticipantGet)
	s.api("GET /api/v1/participants/{id}/proof", assent.ManageParticipants, s.apiParticipantProof)
	s.api("POST /api/v1/participants/{id}/withdrawals", assent.ManageParticipants, s.apiParticipantWithdraw)
	s.api("DELETE /api/v1/participants/{id}", assent.EraseParticipants, s.apiParticipantErase)
	s.api("GET /api/v1/ledger/verify", assent.ManageAccount, s.apiLedgerVerify)

	s.api("GET /api/v1/webhooks", assent.ManageWebhooks, s.apiWebhookList)
	s.api("POST /api/v1/webhooks", assent.ManageWebhooks, s.apiWebhookCreate)
	s.api("GET /api/v1/webhooks/{id}", assent.ManageWebhooks, s.apiWebhookGet)
	s.api("PATCH /api/v1/webhooks/{id}", assent.ManageWebhooks, s.apiWebhookUpdate)
	s.api("DELETE /api/v1/webhooks/{id}", assent.ManageWebhooks, s.apiWebhookDelete)
	s.api("POST /api/v1/webhooks/{id}/rotate-secret", assent.ManageWebhooks, s.apiWebhookRotateSecret)
	s.api("GET /api/v1/webhooks/{id}/deliveries", assent.ManageWebhooks, s.apiWebhookDeliveries)
	s.api("POST /api/v1/webhooks/{id}/test", assent.ManageWebhooks, s.apiWebhookTest)
	s.api("POST /api/v1/events/{id}/replay", assent.ManageWebhooks, s.apiEventReplay)

	// Public pages: plain HTML for participants, no sign-in. Every POST is
	// refused when sent from another site; form submissions are also
	// limited per client address.
	s.mux.Handle("GET /static/", s.ui.static)
	s.mux.Handle("GET /f/{id}", s.page(s.publicFormShow))
	s.mux.Handle("POST /f/{id}", s.ui.crossOrigin.Handler(s.limitForms(s.page(s.publicFormSubmit))))
	s.mux.Handle("GET /f/{id}/thanks", s.page(s.publicFormThanks))
	s.mux.Handle("GET /confirm/{token}", s.page(s.publicConfirmShow))
	s.mux.Handle("POST /confirm/{token}", s.ui.crossOrigin.Handler(s.page(s.publicConfirm)))
	s.mux.Handle("GET /preferences/{token}", s.page(s.publicPreferencesShow))
	s.mux.Handle("POST /preferences/{token}", s.ui.crossOrigin.Handler(s.page(s.publicPreferencesWithdraw)))

	// Admin UI: pages for signed-in users. Each route names the action of
	// SPEC §6 that it needs (ReadContent to look); a page for a role that
	// may not answers 403. Every POST is refused when sent from another site.
	s.adminPublic("GET /admin/login", s.adminLoginShow)
	s.adminPublic("POST /admin/login", s.adminLogin)
	s.adminPublic("POST /admin/logout", s.adminLogout)
	s.admin("GET /admin", assent.ReadContent, s.adminHome)
	s.admin("/admin/", assent.ReadContent, s.adminNotFound)

	s.admin("GET /admin/optins", assent.ReadContent, s.adminOptinList)
	s.admin("GET /admin/optins/new", assent.ManageOptins, s.adminOptinNew)
	s.admin("POST /admin/optins", assent.ManageOptins, s.adminOptinCreate)
	s.admin("GET /admin/optins/{id}", assent.ReadContent, s.adminOptinShow)
	s.admin("GET /admin/optins/{id}/edit", assent.ManageOptins, s.adminOptinEdit)
	s.admin("POST /admin/optins/{id}", assent.ManageOptins, s.adminOptinUpdate)
	s.admin("POST /admin/optins/{id}/archive", assent.ManageOptins, s.adminOptinStatus(assent.StatusArchived))
	s.admin("POST /admin/optins/{id}/restore", assent.ManageOptins, s.adminOptinStatus(assent.StatusActive))
	s.admin("GET /admin/optins/{id}/audience", assent.ReadStats, s.adminOptinAudience) // format=csv: the API's export

	s.admin("GET /admin/subcategories", assent.ReadContent, s.adminSubcategoryList)
	s.admin("POST /admin/subcategories", assent.ManageSubcategories, s.adminSubcategoryCreate)
	s.admin("GET /admin/subcategories/{id}/edit", assent.ManageSubcategories, s.adminSubcategoryEdit)
	s.admin("POST /admin/subcategories/{id}", assent.ManageSubcategories, s.adminSubcategoryUpdate)
	s.admin("POST /admin/subcategories/{id}/delete", assent.ManageSubcategories, s.adminSubcategoryDelete)

	s.admin("GET /admin/campaigns", assent.ReadContent, s.adminCampaignList)
	s.admin("GET /admin/campaigns/new", assent.ManageCampaigns, s.adminCampaignNew)
	s.admin("POST /admin/campaigns", assent.ManageCampaigns, s.adminCampaignCreate)
	s.admin("GET /admin/campaigns/{id}", assent.ReadContent, s.adminCampaignShow)
	s.admin("GET /admin/campaigns/{id}/stats", assent.ReadStats, s.adminCampaignStats)
	s.admin("GET /admin/campaigns/{id}/edit", assent.ManageCampaigns, s.adminCampaignEdit)
	s.admin("POST /admin/campaigns/{id}", assent.ManageCampaigns, s.adminCampaignUpdate)
	s.admin("POST /admin/campaigns/{id}/optins", assent.ManageCampaigns, s.adminCampaignOptins)
	s.admin("POST /admin/campaigns/{id}/archive", assent.ManageCampaigns, s.adminCampaignStatus(assent.StatusArchived))
	s.admin("POST /admin/campaigns/{id}/restore", assent.ManageCampaigns, s.adminCampaignStatus(assent.StatusActive))

	// The statistics pages answer format=csv with the API's export.
	s.admin("GET /admin/insights", assent.ReadStats, s.adminInsights)
	s.admin("GET /admin/stats", assent.ReadGlobalStats, s.adminGlobalStats)

	s.admin("GET /admin/participants", assent.ManageParticipants, s.adminParticipantSearch)
	s.admin("GET /admin/participants/{id}", assent.ManageParticipants, s.adminParticipantShow)
	s.admin("GET /admin/participants/{id}/proof.json", assent.ManageParticipants, s.adminParticipantProof)
	s.admin("POST /admin/participants/{id}/withdraw", assent.ManageParticipants, s.adminParticipantWithdraw)
	s.admin("GET /admin/participants/{id}/erase", assent.EraseParticipants, s.adminParticipantEraseConfirm)
	s.admin("POST /admin/participants/{id}/erase", assent.EraseParticipants, s.adminParticipantErase)

	s.admin("GET /admin/settings", assent.ManageAccount, s.adminAccountShow)
	s.admin("POST /admin/settings", assent.ManageAccount, s.adminAccountUpdate)
	s.admin("GET /admin/settings/users", assent.ManageAccount, s.adminUserList)
	s.admin("POST /admin/settings/users", assent.ManageAccount, s.adminUserCreate)
	s.admin("POST /admin/settings/users/{id}/role", assent.ManageAccount, s.adminUserRole)
	s.admin("POST /admin/settings/users/{id}/remove", assent.ManageAccount, s.adminUserRemove)
	s.admin("GET /admin/settings/apikeys", assent.ManageAccount, s.adminAPIKeyList)
	s.admin("POST /admin/settings/apikeys", assent.ManageAccount, s.adminAPIKeyCreate)
	s.admin("POST /admin/settings/apikeys/{id}/revoke", assent.ManageAccount, s.adminAPIKeyRevoke)
	s.admin("GET /admin/settings/webhooks", assent.ManageWebhooks, s.adminWebhookList)
	s.admin("GET /admin/settings/webhooks/new", assent.ManageWebhooks, s.adminWebhookNew)
	s.admin("POST /admin/settings/webhooks", assent.ManageWebhooks, s.adminWebhookCreate)
	s.admin("GET /admin/settings/webhooks/{id}", assent.ManageWebhooks, s.adminWebhookShow) // with its delivery log
	s.admin("GET /admin/settings/webhooks/{id}/edit", assent.ManageWebhooks, s.adminWebhookEdit)
	s.admin("POST /admin/settings/webhooks/{id}", assent.ManageWebhooks, s.adminWebhookUpdate)
	s.admin("POST /admin/settings/webhooks/{id}/disable", assent.ManageWebhooks, s.adminWebhookEnabled(false))
	s.admin("POST /admin/settings/webhooks/{id}/enable", assent.ManageWebhooks, s.adminWebhookEnabled(true))
	s.admin("POST /admin/settings/webhooks/{id}/rotate-secret", assent.ManageWebhooks, s.adminWebhookRotateSecret)
	s.admin("POST /admin/settings/webhooks/{id}/test", assent.ManageWebhooks, s.adminWebhookTest)
	s.admin("POST /admin/settings/webhooks/{id}/replay", assent.ManageWebhooks, s.adminWebhookReplay) // the form names the event
	s.admin("POST /admin/settings/webhooks/{id}/delete", assent.ManageWebhooks, s.adminWebhookDelete)

	// Every signed-in user changes their own password.
	s.admin("GET /admin/password", assent.ReadContent, s.adminPasswordShow)
	s.admin("POST /admin/password", assent.ReadContent, s.adminPasswordChange)
}
