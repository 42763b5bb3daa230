package workflows

// ActivityRequestSurvey asks the helpdesk to invite the requester of a
// resolved ticket to rate the help they got (RequestSurveyInput); the
// helpdesk stores the survey and announces survey.requested, from which
// the notification service mails the one-click rating links.
const ActivityRequestSurvey = "RequestSurvey"

// RequestSurveyInput is the argument of ActivityRequestSurvey.
type RequestSurveyInput struct {
	// RequestKey makes the request idempotent: a retried activity asks
	// once, and a later resolution of the same ticket asks again.
	RequestKey  string `json:"request_key"`
	TicketID    string `json:"ticket_id"`
	RequesterID string `json:"requester_id"`
	// AgentID and TeamID are whom the rating will count for.
	AgentID string `json:"agent_id,omitempty"`
	TeamID  string `json:"team_id,omitempty"`
}

// ErrSurveyRefused is the activity error type of a survey request the
// helpdesk refused (the ticket is unknown or no longer resolved); retrying
// cannot help.
const ErrSurveyRefused = "SurveyRefused"
