/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Kubernetes source's parts that do no I/O on the loop (k8s_view.c), apart so that the
 * unit tests run them: the objects as veerd keeps them, the view they make (the VIPs), and
 * the connection settings from a kubeconfig file or the in-cluster service account.
 */
#ifndef VEERD_K8S_H
#define VEERD_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include "veer.h"

struct json_object;

#define K8S_ANNOTATION	       "veer.io/vip"
#define K8S_SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define K8S_SA_DIR	       "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8S_ERR_LEN	       512

enum k8s_kind { K8S_SERVICE, K8S_SLICE };

struct k8s_port {
	char *name; /* "" when the port has none (a Service's only port) */
	__u16 port; /* 0: none given (a slice's port may be unset) */
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP; 0 for another (proto_name says which) */
	char proto_name[12];
};

struct k8s_ep {
	char *addr; /* the endpoint's first address: the others are the same endpoint's */
	bool ready, terminating;
};

/* A Service or an EndpointSlice, with what the view needs of it. */
struct k8s_obj {
	char *ns, *name;
	struct k8s_port *ports;
	size_t nports;
	/* A Service: its veer.io/vip annotation, NULL without one. */
	char *vip;
	/* metadata.creationTimestamp and uid (NULL when absent): of two Services of one VIP, the
	 * older holds it. */
	char *created, *uid;
	/* An EndpointSlice: its Service (label kubernetes.io/service-name), its endpoints. */
	char *svc;
	__u8 family; /* from addressType: VEER_AF_INET(6); 0 for FQDN or another */
	struct k8s_ep *eps;
	size_t neps;
};

/*
 * One object of a list's items or a watch event: 0 with *out set, or -EINVAL with err saying
 * what is wrong with it (a missing name...), -ENOMEM.
 */
int k8s_obj_parse(enum k8s_kind kind, struct json_object *o, struct k8s_obj **out, char *err,
		  size_t errlen);
void k8s_obj_free(struct k8s_obj *o);

/* The objects of one resource, sorted by namespace and name. */
struct k8s_store {
	struct k8s_obj **v;
	size_t n, cap;
};

/* Puts o in place of the object of the same namespace and name, if any. 0 or -ENOMEM. */
int k8s_store_put(struct k8s_store *s, struct k8s_obj *o);
/* 0, or -ENOENT when there is none. */
int k8s_store_del(struct k8s_store *s, const char *ns, const char *name);
void k8s_store_clear(struct k8s_store *s);

/* A Service refused: where ("kubernetes service NS/NAME") and why. */
struct k8s_refusal {
	char *origin, *why;
};

/*
 * What the source declares: the VIPs and where each came from, the Services refused, and
 * notes on Services made into VIPs that likely do not do what was meant (same shape as a
 * refusal: told once each).
 */
struct k8s_view {
	struct veer_vip_spec *specs;
	char **origins;
	size_t n;
	struct k8s_refusal *refused;
	size_t nrefused;
	struct k8s_refusal *notes;
	size_t nnotes;
	/*
	 * A Service is refused and keeps no VIP of prev (none since veerd started): it may have
	 * held VIPs before a restart, so the source's VIPs no Service declares are to be kept.
	 */
	bool hold;
};

/*
 * The VIPs of the annotated Services: for every address of the annotation (one, or one IPv4
 * and one IPv6) and every port of the Service, one VIP whose backends are the endpoints of the
 * Service's EndpointSlices (same family, the slice port of the same name and protocol): ready
 * ones weight 100, others (terminating, not ready) weight 0. A Service that cannot be made
 * into VIPs (a bad annotation, a port veer cannot serve, a bad endpoint address, a VIP another
 * Service has) is refused whole and keeps the VIPs it had in prev. Of two Services declaring
 * one VIP, the one created first (creationTimestamp, then uid) holds it. 0 or -ENOMEM.
 */
int k8s_view_build(const struct k8s_store *svcs, const struct k8s_store *slices,
		   const struct k8s_view *prev, struct k8s_view *out);
void k8s_view_free(struct k8s_view *v);
/* The specs and origins of v, copied, for source_set: 0 or -ENOMEM. */
int k8s_view_specs_copy(const struct k8s_view *v, struct veer_vip_spec **specs, char ***origins);

/* Where and how to reach the API server. */
struct k8s_conn {
	char *where;  /* for messages: "kubeconfig /etc/veer/kubeconfig" or "in-cluster config" */
	char *server; /* https://HOST:PORT, no trailing slash */
	char *ca_file;
	void *ca_data; /* PEM */
	size_t ca_len;
	char *cert_file, *key_file; /* client certificate */
	void *cert_data, *key_data;
	size_t cert_len, key_len;
	char *token;	  /* as given in the kubeconfig */
	char *token_file; /* re-read when it changes */
};

/*
 * From a kubeconfig file: its current context's cluster and user. 0, or -errno with err
 * saying what is wrong ("kubeconfig PATH: ...").
 */
int k8s_conn_kubeconfig(const char *path, struct k8s_conn *c, char *err, size_t errlen);
/*
 * In a pod: KUBERNETES_SERVICE_HOST/PORT, the service account's token and CA in sa_dir
 * (K8S_SA_DIR). 0 or -errno with err set.
 */
int k8s_conn_incluster(const char *sa_dir, struct k8s_conn *c, char *err, size_t errlen);
void k8s_conn_free(struct k8s_conn *c);

#endif
