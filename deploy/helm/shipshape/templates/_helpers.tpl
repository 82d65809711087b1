{{- define "shipshape.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shipshape.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "shipshape.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "shipshape.databaseSecret" -}}
{{ .Values.database.existingSecret | default (include "shipshape.fullname" .) }}
{{- end -}}

{{/* The data dir: an emptyDir holding master.key copied from the Secret with mode 0600 and owned by
the pod's user (a Secret volume cannot give both), plus scratch space (spool, exports). */}}
{{- define "shipshape.dataInit" -}}
- name: master-key
  image: {{ include "shipshape.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["sh", "-c", "umask 077 && cp /etc/shipshape/secret/master.key /var/lib/shipshape/master.key"]
  securityContext: {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - {name: data, mountPath: /var/lib/shipshape}
    - {name: master-key, mountPath: /etc/shipshape/secret, readOnly: true}
{{- end -}}

{{- define "shipshape.dataVolumes" -}}
- name: data
  emptyDir: {}
- name: master-key
  secret:
    secretName: {{ include "shipshape.fullname" . }}
    items: [{key: master.key, path: master.key}]
    defaultMode: 0400
{{- end -}}

{{- define "shipshape.env" -}}
- name: SHIPSHAPE_DATA_DIR
  value: /var/lib/shipshape
- name: SHIPSHAPE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "shipshape.databaseSecret" . }}
      key: database-url
{{- end -}}
